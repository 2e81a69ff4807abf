"""``streamt1.devices``: what ``auto`` and named devices and dtypes stand for."""

import pytest
import torch

from streamt1.config import ConfigError
from streamt1.devices import cpu_multiplies_bf16, resolve_device, resolve_dtype


@pytest.mark.parametrize("avx512_bf16, amx, expected", [(True, False, torch.bfloat16), (False, True, torch.bfloat16),
                                                        (False, False, torch.float32)])
def test_auto_on_the_cpu_is_bf16_only_where_the_cpu_multiplies_it(monkeypatch, avx512_bf16, amx, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert cpu_multiplies_bf16() == (expected == torch.bfloat16)
    assert resolve_dtype("auto", torch.device("cpu")) == expected
    assert resolve_dtype("float32", torch.device("cpu")) == torch.float32  # a named dtype is kept
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16


def test_a_torch_without_the_probes_runs_float32_on_the_cpu(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32


def test_a_device_torch_does_not_know_is_named_in_the_error():
    with pytest.raises(ConfigError, match="run.device='gpu0' is not a device torch knows"):
        resolve_device("gpu0")


@pytest.mark.parametrize("requested, expected", [(None, "cuda:2"), ("auto", "cuda:2"), ("cuda", "cuda:2"),
                                                 ("cuda:0", "cuda:0"), ("cpu", "cpu")])
def test_each_torchrun_process_takes_its_own_gpu_unless_one_is_numbered(monkeypatch, requested, expected):
    # `--device cuda` under torchrun would put every rank on the first GPU
    from streamt1.distributed import Shard, device_for

    chosen = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    assert device_for(Shard(rank=2, world_size=4, local_rank=2), requested) == expected
    assert chosen == ([2] if expected == "cuda:2" else [])
