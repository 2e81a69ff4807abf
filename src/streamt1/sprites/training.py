"""What the Sprites training scripts (video model, codec, rewards, their fine-tune) share: endless
rendered samples, their loader, the learning-rate schedule of step- or time-limited runs, and the
common command-line options of those that render their data."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import signal
import sys
import threading
from typing import Any, Callable, Iterator, Mapping, TypeVar

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from streamt1.sprites.world import SceneSpec, with_straight_speed

T = TypeVar("T")
WARM_UP = 0.05  # share of the run spent warming up
FINAL_FACTOR = 0.1  # the cosine decays to this share of the peak rate


class SampleStream(IterableDataset):
    """Endless ``sample(generator)`` items; each DataLoader worker has its own seeded generator.

    ``sample`` must be picklable for worker processes (a module-level function or a
    ``functools.partial`` of one).
    """

    def __init__(self, sample: Callable[[torch.Generator], Any], seed: int) -> None:
        self.sample, self.seed = sample, seed

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        g = torch.Generator().manual_seed(self.seed * 1009 + (info.id if info is not None else 0))
        while True:
            yield self.sample(g)


def _quiet_when_main_is_gone(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    """A loader worker's ``sys.excepthook``, which multiprocessing's resource sharer (the thread that hands a batch's
    tensors over) calls for a failed handover: a lost connection is the main process ending mid-handover, after it
    saved at a stop; while the main process lives it sees the failure on its own side and reports it. Anything else
    prints as usual."""
    if not issubclass(exc_type, (ConnectionError, EOFError)):
        sys.__excepthook__(exc_type, exc, tb)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # rendering is many small ops; threads only contend across workers
    # A stop sent to the whole process group (Ctrl-C, timeout, Slurm) is the main process's to handle: a worker
    # killed by it first would make the loader raise over the clean stop. The workers end with the main process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.excepthook = _quiet_when_main_is_gone


@contextlib.contextmanager
def stops_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored while the block runs (in the main thread, where Python handles them): the save
    after a stop must not be cut short by the next one, such as ``timeout``'s second SIGTERM, sent to the
    process and then to its group, or a second Ctrl-C between the weights' file and their card."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    earlier = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in earlier.items():
            signal.signal(sig, handler)


def sample_loader(stream: SampleStream, batch_size: int, workers: int, device: torch.device) -> DataLoader:
    """Batches of ``stream`` rendered by ``workers`` processes (0: in this process)."""
    return DataLoader(
        stream, batch_size=batch_size, num_workers=workers, worker_init_fn=_worker_init,
        pin_memory=device.type == "cuda", persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
    )


class ReplayPool:
    """The last ``capacity`` rendered items, kept on the training device, sampled with replacement.

    Rendering on the CPU is slower than a step of the tiny model on a GPU: drawing each batch from a
    pool that a fresh loader batch refreshes every few steps lets the GPU work while the loader renders.
    Items are batches as :func:`sample_loader` yields them: tensors with the batch first (e.g. frames,
    shape contrast, positions), then the captions.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity={capacity} must be >= 1")
        self.capacity = capacity
        self.tensors: list[torch.Tensor] = []
        self.prompts: list[str] = []
        self.size = self.next = 0

    def add(self, *batch: Any) -> None:
        """Add one loader batch ``(tensor, ..., prompts)``."""
        *tensors, prompts = batch
        if not self.tensors:
            self.tensors = [x.new_empty((self.capacity, *x.shape[1:])) for x in tensors]
            self.prompts = [""] * self.capacity
        for i in range(len(prompts)):  # ring buffer: overwrite the oldest
            for stored, x in zip(self.tensors, tensors):
                stored[self.next] = x[i]
            self.prompts[self.next] = prompts[i]
            self.next = (self.next + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[Any, ...]:
        """A batch ``(tensor, ..., prompts)`` of ``batch_size`` items drawn with replacement."""
        if not self.tensors:
            raise ValueError("the pool is empty: add a batch first")
        pick = torch.randint(self.size, (batch_size,), generator=generator)
        return (*(x[pick.to(x.device)] for x in self.tensors), [self.prompts[i] for i in pick.tolist()])


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """``ema <- decay * ema + (1 - decay) * model``, parameter by parameter."""
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1 - decay)


def ema_decay_at(step: int, decay: float) -> float:
    """The EMA's decay at ``step``: warmed up from 0.1 so early weights do not linger."""
    return min(decay, (1 + step) / (10 + step))


def draw_in_band(band: tuple[float, float], g: torch.Generator) -> float:
    """A number drawn uniformly from ``band`` = (low, high); a band of one value draws nothing from ``g``."""
    lo, hi = band
    return lo if lo == hi else lo + (hi - lo) * float(torch.rand((), generator=g))


def scale_straight_moves(scene: SceneSpec, g: torch.Generator, band: tuple[float, float]) -> SceneSpec:
    """``scene`` with its straight moves at one multiple of their speed drawn from ``band``
    (:func:`~streamt1.sprites.world.with_straight_speed`); ``scene`` itself at (1, 1), drawing nothing, so
    older configs render the items they did."""
    return scene if tuple(band) == (1.0, 1.0) else with_straight_speed(scene, draw_in_band(band, g))


def check_settings(config: Any) -> None:
    """The checks every trainer's config shares: each number finite (NaN passes every ``< 0`` check and trains a
    model of NaNs) and the run's time limit None (none) or a positive number of minutes (0 or less would end it
    at once)."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        numbers = value if isinstance(value, (tuple, list)) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in numbers):
            raise ValueError(f"{f.name}={value} must be a finite number")
    if config.max_minutes is not None and not config.max_minutes > 0:
        raise ValueError(f"max_minutes={config.max_minutes} must be > 0, or left out (None) for no time limit")


def config_from_flags(parser: argparse.ArgumentParser, make: Callable[[], T]) -> T:
    """``make()``, a trainer's config from its command line; a ``name=value must ...`` error from the config is
    named by the flag that set it (``--name value must ...``), so the message points at what the user typed."""
    try:
        return make()
    except ValueError as err:
        name, eq, rest = str(err).partition("=")
        flag = "--" + name.replace("_", "-")
        known = {option for action in parser._actions for option in action.option_strings}
        if eq and name.isidentifier() and flag in known:
            raise ValueError(f"{flag} {rest}") from None
        raise


def _diverged(what: str, step: int, saved: str) -> ValueError:
    return ValueError(f"training diverged: {what} at step {step}; nothing more is saved ({saved} keeps what was "
                      "saved before). Lower --lr, or check the weights and shares you changed")


def check_loss(loss: float, step: int, saved: str, name: str = "loss") -> float:
    """``loss``, or a clear stop when training has diverged: the NaN weights are not saved over ``saved``."""
    if not math.isfinite(loss):
        raise _diverged(f"the {name} is {loss}", step, saved)
    return loss


def check_weights(tensors: Mapping[str, torch.Tensor], step: int, saved: str) -> None:
    """A clear stop instead of saving ``tensors`` (as they are stored) that hold NaN or inf over ``saved``: a step
    whose loss was finite can still take them there (a NaN gradient, or weights beyond float16's range)."""
    bad = [name for name, t in tensors.items() if t.is_floating_point() and not bool(t.isfinite().all())]
    if bad:
        raise _diverged(f"{len(bad)} weight tensors hold NaN or inf (e.g. {bad[0]})", step, saved)


def run_progress(step: int, steps: int, seconds: float, max_minutes: float | None) -> float:
    """Share of the run done: of the steps, or of ``max_minutes`` if that runs out first (so a
    time-limited run still ends with a fully decayed learning rate)."""
    done = step / steps
    return done if max_minutes is None else max(done, seconds / (60 * max_minutes))


def lr_factor(progress: float) -> float:
    """Learning-rate factor at ``progress`` in [0, 1]: linear warm-up, then cosine decay."""
    if progress < WARM_UP:
        return max(progress, 1e-3) / WARM_UP
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - WARM_UP) / (1 - WARM_UP))))
    return FINAL_FACTOR + (1 - FINAL_FACTOR) * cosine


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """``--device``, as the other streamt1 commands take it (read it with ``resolve_device``)."""
    parser.add_argument("--device", default="auto",
                        help="auto, cpu, cuda, cuda:1 ... (default auto: cuda wherever there is one)")


def training_parser(description: str, out_help: str, defaults: Any,
                    prog: str | None = None) -> argparse.ArgumentParser:
    """The options of the scripts that render their data; ``defaults`` is the script's config class
    (steps, batch_size, lr, ...); ``prog``: the command shown in usage lines (default: the script's)."""
    from streamt1.cli import HelpFormatter  # here, not above: the command line imports the whole API

    p = argparse.ArgumentParser(prog=prog, formatter_class=HelpFormatter, description=description)
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--steps", type=int, default=defaults.steps, help="optimiser steps (default: %(default)s)")
    add_device_option(p)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size,
                   help="training items per step (default: %(default)s)")
    p.add_argument("--lr", type=float, default=defaults.lr,
                   help=f"peak learning rate, reached after {100 * WARM_UP:g} %% of the run and decayed on a cosine to "
                        f"{FINAL_FACTOR:g}x (default: %(default)s)")
    p.add_argument("--workers", type=int, default=defaults.workers,
                   help="processes rendering training items (0: in this process; default: %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default: %(default)s)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop and save after this much time (default: run every step)")
    return p
