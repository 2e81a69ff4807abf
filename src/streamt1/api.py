"""Python API: the same path as the CLI, from a config to videos, traces and plots on disk.

    >>> from streamt1 import api
    >>> result = api.generate("a red circle moves left over a blue background", method="stream-t1")
    >>> api.save_result(result, "outputs", "red-circle-0")
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

import streamt1
from streamt1.backends import get_backend
from streamt1.config import Config, ConfigError, build_config
from streamt1.devices import resolve_device, resolve_dtype
from streamt1.interfaces import ImageReward, StreamingGenerator, VideoReward, chunk_count
from streamt1.outputs.atomic import atomic_write_json
from streamt1.outputs.fingerprint import fingerprint
from streamt1.outputs import results
from streamt1.outputs.naming import check_stem, output_paths, prompt_name, prompt_names, video_stem
from streamt1.outputs.plots import plot_rewards, plot_search_tree
from streamt1.outputs.video import write_mp4
from streamt1.rewards import RewardEntry, a_kind, check_files, load_reward, parse_spec
from streamt1.rewards.placement import unwrapped
from streamt1.schedule import PromptSchedule, Segment
from streamt1.search.beam import SearchResult, StreamSearch
from streamt1.search.trace import ChunkRecord

logger = logging.getLogger(__name__)

# Candidates per chunk beyond which a search is told its cost (the paper's widest is 4 x 4 = 16)
WIDE_SEARCH = 64


@dataclass
class Components:
    """A generator and the rewards that score it, built once and reused across prompts."""

    generator: StreamingGenerator
    image_reward: ImageReward | None = None
    video_reward: VideoReward | None = None


def reward_names(config: Config, components: Components) -> dict[str, str | None]:
    """The classes (inside any placement wrapper) of the rewards ``config``'s method calls, part of a run's
    settings fingerprint; None for a kind it does not call, even where components shared with other
    methods (bench) hold one."""
    needed = config.search.rewards_needed()

    def name(kind: str, obj: object) -> str | None:
        if obj is None or kind not in needed:
            return None
        return f"{type(unwrapped(obj)).__module__}.{type(unwrapped(obj)).__qualname__}"

    return {"image": name("image", components.image_reward), "video": name("video", components.video_reward)}


def reward_spec(config: Config, kind: str) -> str | None:
    """The reward ``kind`` resolves to: ``config.rewards``' setting, else the run backend's default."""
    return getattr(config.rewards, kind) or get_backend(config.run.backend).default_rewards.get(kind)


def called_rewards(config: Config) -> dict[str, str | None]:
    """The reward spec each kind resolves to for ``config``'s method; None for a kind it does not call
    (its naming changes no video), so settings naming a backend's default and leaving it unset are alike."""
    needed = config.search.rewards_needed()
    return {kind: reward_spec(config, kind) if kind in needed else None for kind in ("image", "video")}


def run_settings(config: Config, components: Components) -> dict:
    """What decides a run's videos (fingerprinted into every result; see ``outputs.results``)."""
    dtype = resolve_dtype(config.run.dtype, resolve_device(config.run.device))
    return results.run_settings(config, str(dtype), reward_names(config, components))


@dataclass(frozen=True)
class RewardPlan:
    """A reward resolved to its folder, files checked, not loaded yet."""

    kind: str  # "image" or "video"
    name: str
    folder: Path
    device: torch.device
    dtype: torch.dtype
    max_batch: int | None
    offload: bool

    def load(self) -> ImageReward | VideoReward:
        logger.info("loading %s reward %s from %s on %s (%s)", self.kind, self.name, self.folder, self.device,
                    self.dtype)
        return load_reward(self.name, self.folder, kind=self.kind, device=self.device, dtype=self.dtype,
                           max_batch=self.max_batch, offload=self.offload)


def plan_rewards(config: Config, kinds: Sequence[str] | None = None) -> dict[str, RewardPlan]:
    """The rewards a run loads: ``kinds`` (default: what the method calls), each resolved to a folder
    whose files exist. Reads no weights. A reward named in ``config.rewards`` of a kind not loaded is
    neither checked nor loaded, and a warning says so."""
    backend, settings = get_backend(config.run.backend), config.rewards
    why = f"method {config.method} does not call it" if kinds is None else "no method of this run calls it"
    kinds = config.search.rewards_needed() if kinds is None else kinds
    for kind in ("image", "video"):
        if getattr(settings, kind) is not None and kind not in kinds:
            logger.warning("%s reward %r ignored: %s", kind, getattr(settings, kind), why)
    if kinds and not backend.decodes_frames:
        raise ConfigError(f"backend {backend.name!r} cannot decode frames, so no reward can score it: "
                          f"use --method none")
    device = resolve_device(settings.device or config.run.device, "rewards.device" if settings.device else "run.device")
    plans, built_in, missing = {}, [], []
    for kind in kinds:
        spec = reward_spec(config, kind)
        if spec is None:
            raise ConfigError(f"method {config.method!r} needs {a_kind(kind)} reward and backend {backend.name!r} "
                              f"has none by default: pass --{kind}-reward NAME=PATH (`streamt1 rewards` lists "
                              "them) or use --method none")
        entry, path = parse_spec(spec, kind)
        folder, fell_back = _reward_folder(entry, path, config.run.weights)
        if fell_back:
            built_in.append(entry)
        try:
            folder = check_files(entry, folder)
        except FileNotFoundError as err:  # every reward's missing files in one message
            missing.append(str(err))
            continue
        # auto: the reward's GPU dtype (bf16 for the large scorers, whose loaders keep their heads
        # in the authors' dtype), float32 on the CPU
        dtype = settings.dtype if settings.dtype != "auto" else entry.gpu_dtype if device.type == "cuda" else "float32"
        plans[kind] = RewardPlan(kind, entry.name, folder, device, getattr(torch, dtype), settings.max_batch,
                                 settings.offload)
    if missing:
        raise _missing_files(missing)
    if built_in:  # one line for all of them
        logger.warning("--weights %s holds no %s reward files: using the built-in ones from %s", config.run.weights,
                       " and ".join(e.name for e in built_in), ", ".join(sorted({str(e.builtin) for e in built_in})))
    return plans


def _reward_folder(entry: RewardEntry, path: Path | None, weights: str | None) -> tuple[Path, bool]:
    """(The given path, else the entry's folder under --weights, else its built-in weights; whether
    --weights was given but the built-in ones were taken). A --weights folder that holds none of a
    built-in reward's files (e.g. a `streamt1 sprites train --out` folder, which holds only the video
    model) takes the built-in ones; one with some of them is a mistake, which :func:`check_files` names.
    The built-in folder itself given as --weights holds them all: no fallback."""
    if path is not None:
        return path, False
    if weights is not None and entry.folder is not None:
        under = Path(weights) / entry.folder
        if entry.builtin is None or len(entry.missing(under)) < len(entry.required):
            return under, False
    if entry.builtin is not None:  # a --weights that is no folder is the generator's error, not a fallback
        return entry.builtin, weights is not None and entry.folder is not None and Path(weights).is_dir()
    raise ConfigError(f"reward {entry.name!r} needs its files: pass --{entry.kind}-reward {entry.name}=PATH, "
                      f"or --weights W with them in W/{entry.folder}/")


def load_components(config: Config, reward_kinds: Sequence[str] | None = None,
                    schedules: Sequence[PromptSchedule] = ()) -> Components:
    """Build the backend named by ``config.run.backend`` and the rewards the run needs.

    Every file is checked before any weight is read: the generator's by its backend's checker,
    then the rewards' (:func:`plan_rewards`, which ``reward_kinds`` is passed to). So are the run's
    length and the switches of ``schedules`` (before loading where the backend knows its chunk, else once built).
    """
    run = config.run
    backend = get_backend(run.backend)
    missing = []  # the generator's and the rewards' missing files, met in one run rather than one run each
    chunk_frames = None
    try:
        chunk_frames = backend.check(run)
    except FileNotFoundError as err:
        missing.append(str(err))
    try:
        plans = plan_rewards(config, reward_kinds)
    except FileNotFoundError as err:
        missing.append(str(err))
    if missing:
        raise _missing_files(missing)
    if chunk_frames is not None:  # minutes of loading a real model spared for a length it cannot make
        _check_length(run.num_frames, chunk_frames, schedules)
    device = resolve_device(run.device)
    # The one stream setting the search owns (memory sinking's limits reach the cache at each commit)
    # and the sampling settings the run sets
    generator = backend.build(run, device=device, dtype=resolve_dtype(run.dtype, device),
                              stream_overrides={"global_sink": config.search.global_sink, **run.stream_overrides})
    set_attention = getattr(generator, "set_attention", None)
    if set_attention is not None:  # before compiling: the compiled graphs keep the kernels they were traced with
        set_attention(run.attention)
    elif run.attention != "auto":
        raise ConfigError(f"run.attention={run.attention!r}: backend {run.backend!r} does not choose attention "
                          "kernels; leave run.attention at auto")
    if run.compile:
        compile_generator = getattr(generator, "compile", None)
        if compile_generator is None:
            raise ConfigError(f"run.compile: backend {run.backend!r} has no compiled path; unset run.compile")
        compile_generator()
    if chunk_frames is None:  # a backend that knows its chunk only once built
        _check_length(run.num_frames, generator.spec.latent_frames, schedules)
    rewards = {kind: plan.load() for kind, plan in plans.items()}
    return Components(generator=generator, image_reward=rewards.get("image"), video_reward=rewards.get("video"))


def _check_length(num_frames: int, chunk_frames: int, schedules: Sequence[PromptSchedule]) -> None:
    """The run's length and every switch of ``schedules`` on the chunks (a ValueError / ConfigError otherwise)."""
    chunk_count(num_frames, chunk_frames)
    for schedule in schedules:
        schedule.validate(num_frames, chunk_frames)


def encode_prompts(components: Components, prompts: Sequence[str]) -> None:
    """Encode every prompt now (a closed-vocabulary backend rejects words it cannot express) and,
    where the generator can keep the encoded prompts, free its text encoder: a run whose prompts
    are all known up front never needs it again."""
    generator = components.generator
    keep = getattr(generator, "keep_prompts", None)
    if keep is None:
        for prompt in prompts:
            generator.encode_prompt(prompt)
        return
    keep(prompts)
    generator.release_text_encoder()


@functools.lru_cache(maxsize=None)  # once per process and width: bench makes a search per video
def _warn_if_wide(method: str, histories: int, expansions: int, first: int) -> None:
    """A search far wider than the paper's is legal, but a typo away from a run that never ends."""
    width = histories * expansions
    if max(width, first) > WIDE_SEARCH:
        cost = (f"each chunk costs about {width}x plain generation's work" if width > WIDE_SEARCH
                else f"the first chunk costs about {first}x plain generation's work")
        logger.warning("%s: %d candidates per chunk (search.histories %d x search.expansions %d), %d in the "
                       "first: %s", method, width, histories, expansions, first, cost)


def make_search(config: Config, components: Components) -> StreamSearch:
    search = config.search
    _warn_if_wide(config.method, search.histories, search.expansions, search.first_candidates)
    return StreamSearch(components.generator, config.search, components.image_reward,
                        components.video_reward, method=config.method, settings=resolved_settings(config, components))


def resolved_settings(config: Config, components: Components) -> dict[str, Any]:
    """Everything besides the search config that decides a run's video, for its trace: the run
    (backend, weights, model, size; device and dtype as resolved), the rewards, the generator's stream
    and sampler settings and the library versions."""
    stream = getattr(components.generator, "stream", None)
    rewards = {kind: name for kind, name in reward_names(config, components).items() if name is not None}
    device = resolve_device(config.run.device)
    resolved = {"device": str(device), "dtype": str(resolve_dtype(config.run.dtype, device)).removeprefix("torch.")}
    return {
        "run": {**dataclasses.asdict(config.run), **resolved},  # "auto" replaced by what ran
        "rewards": {**dataclasses.asdict(config.rewards), "loaded": rewards},
        "stream": dataclasses.asdict(stream) if dataclasses.is_dataclass(stream) else None,
        "versions": {"streamt1": streamt1.__version__, "torch": torch.__version__},
    }


def _missing_files(messages: Sequence[str]) -> FileNotFoundError:
    """Every missing file of a run in one error, met at once rather than one run each; a line each."""
    return FileNotFoundError("\nalso ".join(messages))


def generate(
    prompt: str | PromptSchedule | Sequence[Segment],
    method: str | None = None,
    config_file: str | Path | None = None,
    overrides: Sequence[str] = (),
    components: Components | None = None,
    callback: Callable[[ChunkRecord], None] | None = None,
    rewards: Mapping[str, Any] | None = None,
    **run_settings,
) -> SearchResult:
    """Generate one video for ``prompt`` with a method preset (default: ``config_file``'s, else stream-t1);
    ``run_settings`` fill ``Config.run``, ``rewards`` fill ``Config.rewards`` (e.g. ``{"image":
    "hpsv3=/models/HPSv3"}``).

    ``prompt`` is a string or a :class:`~streamt1.schedule.PromptSchedule` (prompts switched at
    given latent frames, e.g. ``schedule.from_switches(["a ...", "b ..."], [24])``). Nothing is written:
    :func:`save_result` writes the video, its trace and plots (``run.out`` is the CLI's folder).
    """
    if "out" in run_settings:  # accepted silently, it would write nothing
        raise TypeError("generate() writes nothing, so it takes no out=: save the result with "
                        "api.save_result(result, folder, stem)")
    config = build_config(method, config_file, overrides, rewards=rewards, **run_settings)
    components = components or load_components(config)
    search = make_search(config, components)
    return search.run(prompt, config.run.num_frames, config.run.seed, callback=callback,
                      progress=config.run.progress)


@torch.no_grad()
def video_reward_columns(frames: torch.Tensor, prompt: str, components: Components, fps: float) -> dict[str, float]:
    """The video reward's overall score and parts as result columns (``reward_overall``, ``reward_<part>``) for
    one video ``[T, 3, H, W]`` (uint8, or float in [0, 1]); none without a video reward."""
    if components.video_reward is None:
        return {}
    reward = components.video_reward(frames[None], [prompt], fps)
    return {"reward_overall": float(reward.overall[0]), **{f"reward_{k}": float(v[0]) for k, v in reward.parts.items()}}


def output_stem(prompt: str, seed: int) -> str:
    """VBench's ``<prompt>-<seed>`` where the prompt is a safe file name, ``<slug>-<hash>-<seed>``
    otherwise (see :mod:`streamt1.outputs.naming`; a list of prompts uses ``output_stems``)."""
    return video_stem(prompt_name(prompt), seed)


def output_stems(prompts: Sequence[str], seed: int) -> list[str]:
    """Distinct stems for a list of prompts, even when prompts repeat or differ only by case."""
    return [video_stem(name, seed) for name in prompt_names(prompts)]


def schedule_stems(schedules: Sequence[PromptSchedule], seed: int) -> list[str]:
    """:func:`output_stems` of the streams' names: a single prompt is named by its text; a multi-prompt
    stream by its first 100 characters (cut between words) plus a hash of its whole schedule, so streams
    that share their first prompts never share a file."""
    def head(text: str) -> str:
        return text if len(text) <= 100 else text[:101].rsplit(" ", 1)[0].rstrip()
    keys = [s.prompts[0] if len(s.segments) == 1 else f"{head(s.text())} {fingerprint(s.to_list())[:8]}"
            for s in schedules]
    return output_stems(keys, seed)


def save_result(result: SearchResult, out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Write the video, the trace and both plots atomically; the trace is written last. An earlier record of
    ``stem`` is withdrawn first (:func:`~streamt1.outputs.results.withdraw_result`)."""
    paths = output_paths(out_dir, check_stem(stem))
    results.withdraw_result(out_dir, stem)
    write_mp4(paths["video"], result.frames.permute(0, 2, 3, 1).cpu().numpy(), result.fps)  # uint8 [T,H,W,3]
    plot_search_tree(result.trace, paths["tree"])
    plot_rewards(result.trace, paths["rewards"])
    save_trace(result, out_dir, stem)
    return paths


def save_run_outputs(result: SearchResult, out_dir: str | Path, stem: str, videos: bool, traces: bool) -> None:
    """An evaluation's files for one run: everything (:func:`save_result`) with ``videos``, else the trace
    alone with ``traces``, else nothing (scores only)."""
    if videos:
        save_result(result, out_dir, stem)
    elif traces:
        save_trace(result, out_dir, stem)


def save_trace(result: SearchResult, out_dir: str | Path, stem: str) -> Path:
    """Write only the search trace (``<stem>.trace.json``) atomically."""
    path = output_paths(out_dir, check_stem(stem))["trace"]
    atomic_write_json(path, result.trace.to_dict())
    return path
