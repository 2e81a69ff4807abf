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
