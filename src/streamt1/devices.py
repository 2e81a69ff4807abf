"""Which torch device and dtype a user's setting stands for, with errors that name the setting."""

from __future__ import annotations

import torch

from streamt1.config import ConfigError


def resolve_device(name: str, key: str = "run.device") -> torch.device:
    """The device ``name`` stands for; ``key`` is where the user set it (a setting such as ``run.device``
    or a flag such as ``--device``), so that errors name it and the fix in the user's own syntax."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    flag = key.startswith("--")
    given, cpu = (f"{key} {name}", f"{key} cpu") if flag else (f"{key}={name!r}", f"{key}=cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"{given} is not a device torch knows: use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):  # the models, caches and rewards are written and tested for these
        raise ConfigError(f"{given}: stream-t1 runs on cpu or cuda; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{given} but no CUDA device is available: use {cpu}")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"{given} but this machine has {torch.cuda.device_count()} CUDA device(s): "
                          f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}")
    return device


def cpu_multiplies_bf16() -> bool:
    """Whether this CPU has bf16 matrix instructions (AVX512-BF16 or AMX), where the Sprites default runs 1.1x
    (plain) to 1.4x (Stream-T1) as fast in bf16 as in float32 (benchmarks/README.md, forty-first session);
    elsewhere bf16 is emulated and slower."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private: absent in some torch builds
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto``: bf16 on a GPU and on a CPU with bf16 matrix instructions (the dtype the GPU results were made
    in), else float32."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" or cpu_multiplies_bf16() else torch.float32
    return getattr(torch, name)
