"""One reference bench run on the tiny Sprites weights (``sprites_weights``, tests/conftest.py)."""

from pathlib import Path

import pytest
import torch

from streamt1.bench import run_bench

from bench_fixtures import tiny_settings


@pytest.fixture(scope="session")
def single_threaded():
    """Same thread count in every process, so float reductions match bit for bit across runs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def reference_run(sprites_weights, tmp_path_factory, single_threaded) -> Path:
    """One uninterrupted single-process run: 2 prompts x 1 seed x (none, stream-t1)."""
    out = tmp_path_factory.mktemp("reference")
    run_bench(tiny_settings(sprites_weights, out))
    return out
