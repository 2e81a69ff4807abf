"""Helpers the bench tests import by name (conftest.py modules are not importable reliably)."""

from pathlib import Path

from streamt1.bench import BenchSettings, MethodSpec

NUM_FRAMES = 3  # one chunk: the smallest video the Sprites model makes


def tiny_settings(weights: Path, out: Path, **changes) -> BenchSettings:
    fields = dict(suite="sprites", methods=(MethodSpec("none", "none"), MethodSpec("stream-t1", "stream-t1")),
                  seeds=(0,), num_frames=NUM_FRAMES, limit=2, out=str(out), weights=str(weights), device="cpu")
    fields.update(changes)
    return BenchSettings(**fields)
