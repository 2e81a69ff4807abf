"""Python API: the same path as the CLI, from a config to videos, traces and plots on disk.

    >>> from streamt1 import api
    >>> result = api.generate("a red circle moves left over a blue background", method="stream-t1")
    >>> api.save_result(result, "outputs", "red-circle-0")
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from streamt1.config import Config, ConfigError, build_config
from streamt1.interfaces import ImageReward, StreamingGenerator, VideoReward
from streamt1.outputs import results
from streamt1.outputs.naming import prompt_name, prompt_names, video_stem
from streamt1.outputs.plots import plot_rewards, plot_search_tree
from streamt1.outputs.trace import ChunkRecord
from streamt1.outputs.video import write_mp4
from streamt1.search.beam import SearchResult, StreamSearch
from streamt1.suites import read_prompt_file

logger = logging.getLogger(__name__)


@dataclass
class Components:
    """A generator and the rewards that score it, built once and reused across prompts."""

    generator: StreamingGenerator
    image_reward: ImageReward | None = None
    video_reward: VideoReward | None = None


def reward_names(components: Components) -> dict[str, str | None]:
    """The reward models' classes, part of a run's settings fingerprint."""
    def name(obj: object) -> str | None:
        return None if obj is None else f"{type(obj).__module__}.{type(obj).__qualname__}"

    return {"image": name(components.image_reward), "video": name(components.video_reward)}


def run_settings(config: Config, components: Components) -> dict:
    """What decides a run's videos (fingerprinted into every result; see ``outputs.results``)."""
    dtype = resolve_dtype(config.run.dtype, resolve_device(config.run.device))
    return results.run_settings(config, str(dtype), reward_names(components))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"run.device={name!r} but no CUDA device is available: use run.device=cpu")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, name)


def load_components(config: Config) -> Components:
    """Build the backend named by ``config.run.backend`` with its rewards."""
    run = config.run
    device = resolve_device(run.device)
    dtype = resolve_dtype(run.dtype, device)
    memory = {"max_sink_frames": config.search.max_sink_frames, "ema_decay": config.search.ema_decay}
    if run.backend == "sprites":
        return _load_sprites(run.weights, device, dtype, memory)
    from importlib.util import find_spec

    from streamt1.models.backends import build_wan_generator

    if find_spec("diffusers") is None or find_spec("transformers") is None:
        raise ConfigError(f"run.backend={run.backend!r} needs diffusers and transformers: "
                          "pip install 'stream-t1[wan]'")
    if run.weights is None:
        raise ConfigError(f"run.backend={run.backend!r} needs --weights DIR with the released checkpoints")
    generator = build_wan_generator(run.backend, run.weights, device=device, dtype=dtype,
                                    stream_overrides=memory)
    return Components(generator=generator)


def _load_sprites(weights: str | None, device: torch.device, dtype: torch.dtype,
                  stream_overrides: dict) -> Components:
    """The built-in default: the Sprites video model (committed weights) with its learned rewards."""
    from safetensors import SafetensorError

    from streamt1.sprites.model import SpritesVideoModel, build_generator
    from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR, SpritesImageReward, SpritesVideoReward

    folder = Path(weights) if weights is not None else DEFAULT_WEIGHTS_DIR
    try:
        model = SpritesVideoModel.from_pretrained(folder)
        image_reward = SpritesImageReward.from_pretrained(folder, device=device)
        video_reward = SpritesVideoReward.from_pretrained(folder, device=device)
    except (SafetensorError, json.JSONDecodeError, KeyError, RuntimeError) as err:
        raise ValueError(f"the Sprites weights in {folder} are corrupt or incomplete ({err}); "
                         "re-copy them or retrain with `streamt1 sprites train`") from None
    generator = build_generator(model, stream_overrides, device=device, dtype=dtype)
    return Components(generator=generator, image_reward=image_reward, video_reward=video_reward)


def make_search(config: Config, components: Components) -> StreamSearch:
    return StreamSearch(components.generator, config.search, components.image_reward,
                        components.video_reward, method=config.method)


def generate(
    prompt: str,
    method: str = "stream-t1",
    config_file: str | Path | None = None,
    overrides: Sequence[str] = (),
    components: Components | None = None,
    callback: Callable[[ChunkRecord], None] | None = None,
    **run_settings,
) -> SearchResult:
    """Generate one video for ``prompt`` with a method preset; ``run_settings`` fill ``Config.run``."""
    config = build_config(method, config_file, list(overrides), **run_settings)
    components = components or load_components(config)
    search = make_search(config, components)
    return search.run(prompt, config.run.num_frames, config.run.seed, callback=callback,
                      progress=config.run.progress)


def output_stem(prompt: str, seed: int) -> str:
    """VBench's ``<prompt>-<seed>`` where the prompt is a safe file name, ``<slug>-<hash>-<seed>``
    otherwise (see :mod:`streamt1.outputs.naming`; a list of prompts uses ``output_stems``)."""
    return video_stem(prompt_name(prompt), seed)


def output_stems(prompts: Sequence[str], seed: int) -> list[str]:
    """Distinct stems for a list of prompts, even when prompts repeat or differ only by case."""
    return [video_stem(name, seed) for name in prompt_names(prompts)]


def output_paths(out_dir: str | Path, stem: str) -> dict[str, Path]:
    out = Path(out_dir)
    return {
        "video": out / f"{stem}.mp4",
        "trace": out / f"{stem}.trace.json",
        "tree": out / f"{stem}.tree.png",
        "rewards": out / f"{stem}.rewards.png",
    }


def save_result(result: SearchResult, out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Write the video, the trace and both plots atomically; the trace is written last."""
    paths = output_paths(out_dir, stem)
    write_mp4(paths["video"], result.frames.permute(0, 2, 3, 1).cpu().numpy(), result.fps)  # uint8 [T,H,W,3]
    plot_search_tree(result.trace, paths["tree"])
    plot_rewards(result.trace, paths["rewards"])
    result.trace.save(paths["trace"])
    return paths


def read_prompts(path: str | Path) -> list[str]:
    """The prompts of a text file (one per line; blank and ``#`` lines skipped) or a JSONL file."""
    return [prompt for prompt, _ in read_prompt_file(path)]
