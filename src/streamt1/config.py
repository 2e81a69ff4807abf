"""Configuration: one frozen dataclass per component, one loader for YAML files and ``--set`` overrides.

Layering, lowest to highest: dataclass defaults < the method preset (``configs/<method>.yaml``) <
a user YAML (``--config``) < ``--set key=value`` overrides < explicit CLI flags. Every layer goes
through :func:`build_config`, which rejects unknown keys and values of the wrong type, and every
dataclass validates its own ranges in ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import yaml

from streamt1.interfaces import SinkLimits
from streamt1.suggest import did_you_mean

logger = logging.getLogger(__name__)

FUSION_MODES = ("raw", "zscore")
FINAL_SCORES = ("whole", "windows")
DTYPES = ("auto", "float32", "bfloat16", "float16")
# run.attention: the SDPA kernel tried first (auto: cuDNN on Hopper GPUs; see models.causal_wan.sdpa_order)
ATTENTION_CHOICES = ("auto", "default", "flash", "cudnn", "efficient", "math")


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names it and the valid range."""


def require(condition: bool, name: str, value: Any, allowed: str) -> None:
    """Raise a :class:`ConfigError` naming the field, its value and what is allowed."""
    if not condition:
        raise ConfigError(f"{name}={value!r} is invalid: expected {allowed}")


def require_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """:func:`require` for a value that must be one of ``choices``, with the closest one suggested."""
    names = [str(choice) for choice in choices]
    require(value in choices, name, value, f"one of {', '.join(names)}{did_you_mean(str(value), names)}")


def is_noise_band(band: Any) -> bool:
    """Whether ``band`` is ``[low, high]`` noise levels with 0 <= low < high <= 1 (``StreamConfig.guidance_sigmas``)."""
    return isinstance(band, (list, tuple)) and len(band) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in band) and 0 <= band[0] < band[1] <= 1


def is_timestep_schedule(steps: Any, num_train_timesteps: float = float("inf")) -> bool:
    """Whether ``steps`` is a non-empty strictly decreasing list in (0, num_train_timesteps]
    (``StreamConfig.denoising_steps``; a run checks the order, the model its own timestep range)."""
    return isinstance(steps, (list, tuple)) and len(steps) > 0 and all(
        isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t <= num_train_timesteps for t in steps
    ) and all(a > b for a, b in zip(steps, steps[1:]))


@dataclass(frozen=True)
class SearchConfig:
    """The search: ``K`` histories x ``M`` expansions per chunk and the three Stream-T1 units."""

    histories: int = 2  # K, the reference's top_k
    expansions: int = 2  # M, the reference's beam_size
    # Candidates of the first chunk, all from the root (None: K * M). The first chunk is drawn from the
    # prompt alone and every later chunk continues it, so search there buys the most per forward
    # (on Sprites the model loses its shapes there and hardly later: benchmarks/README.md). The best K
    # survive by the rewards, also in searches that score no later chunk (plain generation, best-of-n).
    first_chunk_candidates: int | None = None
    # Noise propagation: x_T^n = s * x_T^{n-1}(parent) + sqrt(1 - s^2) * eps.
    noise_propagation: bool = True
    noise_fusion_sigma: float = -0.1  # s; the reference run uses -0.1
    # Reward pruning: S = alpha * short + (1 - alpha) * long, alpha = min(tau, progress).
    pruning: str = "reward"  # the select step (streamt1.search.steps): "reward" (top K), "random", ...
    fusion: Literal["raw", "zscore"] = "raw"  # raw = the reference's mixed scales
    tau: float = 0.4
    long_window_chunks: int = 10  # chunks in the long reward's sliding window, incl. the candidate
    scoring: str = "fused"  # the score step: image + video reward fused with alpha
    short_frame_stride: int = 1  # the image reward scores every k-th decoded frame of a chunk (1: the paper)
    # Early pruning (beyond the paper): after denoising step j (0-based, < last) score the x0 predictions
    # and keep early_keep candidates (None: keep all, only look); None: off.
    early_pruning_step: int | None = None
    early_keep: int | None = None
    # Memory sinking: route the chunk leaving the window by the quality / transition gates.
    memory_sinking: bool = True
    routing: str = "gates"  # the route step: the paper's quality / transition table
    quality_threshold: float = 0.0  # delta_s
    transition_threshold: float = 0.2  # delta_l
    ema_decay: float = 0.999  # a in sink <- a * sink + (1 - a) * evicted
    max_sink_frames: int = 15  # latent frames; APPEND turns into EMA once the sink is full
    # Prompt switches: the sink keeps the first prompt's K/V (LongLive's global_sink) or is re-cached;
    # with memory sinking, the first chunk of each new scene is APPENDed to the sink as its anchor.
    global_sink: bool = True
    scene_anchors: bool = True
    # Final pick: score the K finished videos with the video reward and keep the best.
    final_pick: bool = True
    # What the final pick scores: "whole" (each prompt segment at once, the paper's) or "windows" (the mean
    # over the long reward's window at every chunk: a reward made for windows reads the whole video alike).
    final_score: Literal["whole", "windows"] = "whole"
    max_batch: int = 8  # candidates denoised per forward, to bound memory

    def __post_init__(self) -> None:
        require(self.histories >= 1, "search.histories", self.histories, "an integer >= 1")
        require(self.expansions >= 1, "search.expansions", self.expansions, "an integer >= 1")
        require(self.first_chunk_candidates is None or self.first_chunk_candidates >= self.histories,
                "search.first_chunk_candidates", self.first_chunk_candidates,
                f"null (K * M) or an integer >= search.histories={self.histories}")
        require(-1.0 <= self.noise_fusion_sigma <= 1.0, "search.noise_fusion_sigma",
               self.noise_fusion_sigma, "a number in [-1, 1]")
        from streamt1.search.steps import step_names  # the steps registry imports this module's users

        for key, kind in (("pruning", "select"), ("scoring", "score"), ("routing", "route")):
            names = step_names(kind)
            require_choice(f"search.{key}", getattr(self, key), names)
        require(self.short_frame_stride >= 1, "search.short_frame_stride", self.short_frame_stride, "an integer >= 1")
        require(self.early_pruning_step is None or self.early_pruning_step >= 0, "search.early_pruning_step",
                self.early_pruning_step, "null or an integer >= 0 (a denoising step before the last)")
        most = max(self.candidates_per_chunk, self.first_candidates)
        require(self.early_keep is None or self.histories <= self.early_keep < most, "search.early_keep",
                self.early_keep, f"null or an integer from search.histories={self.histories} to fewer than the {most} "
                "candidates of a chunk (keeping them all would pay for the early look and prune nothing; null "
                "keeps them all and only looks)")
        require(self.early_keep is None or self.early_pruning_step is not None, "search.early_keep", self.early_keep,
                "null while early pruning is off (it would have no effect): set search.early_pruning_step too, "
                "or use the stream-t1-early preset")
        require(self.histories == 1 or self.scores_chunks or self.picks_final, "search.histories", self.histories,
                "1 here: no chunk is scored (search.expansions 1, memory sinking off) and search.final_pick is off, "
                f"so {self.histories - 1} of the {self.histories} videos would be made and thrown away unseen; set "
                "search.final_pick=true to keep the best (Best-of-N), search.expansions above 1 (beam search) or "
                "search.first_chunk_candidates above search.histories")
        require_choice("search.fusion", self.fusion, FUSION_MODES)
        require_choice("search.final_score", self.final_score, FINAL_SCORES)
        require(0.0 <= self.tau <= 1.0, "search.tau", self.tau, "a number in [0, 1]")
        require(self.long_window_chunks >= 1, "search.long_window_chunks", self.long_window_chunks,
               "an integer >= 1")
        require(0.0 <= self.ema_decay <= 1.0, "search.ema_decay", self.ema_decay, "a number in [0, 1]")
        require(self.max_sink_frames >= 1, "search.max_sink_frames", self.max_sink_frames, "an integer >= 1")
        require(self.max_batch >= 1, "search.max_batch", self.max_batch, "an integer >= 1")

    @property
    def sink_limits(self) -> SinkLimits:
        """Memory sinking's limits, handed to the generator's cache at every commit."""
        return SinkLimits(max_sink_frames=self.max_sink_frames, ema_decay=self.ema_decay)

    @property
    def candidates_per_chunk(self) -> int:
        return self.histories * self.expansions

    @property
    def first_candidates(self) -> int:
        """Candidates of the first chunk, all expanded from the root."""
        return self.first_chunk_candidates or self.candidates_per_chunk

    def scores_chunk(self, index: int) -> bool:
        """Chunk ``index`` is scored (image and video reward) when there is something to prune (more
        candidates than histories) or memory routing needs the gates."""
        candidates = self.first_candidates if index == 0 else self.candidates_per_chunk
        return candidates > self.histories or self.memory_sinking

    @property
    def scores_chunks(self) -> bool:
        """Some chunk is scored: the run needs both rewards."""
        return self.scores_chunk(0) or self.scores_chunk(1)

    def inert_settings(self) -> set[str]:
        """Search settings that cannot change this search's videos: those of the units it has off."""
        inert = set()
        if not self.scores_chunks:
            inert |= {"pruning", "fusion", "tau", "scoring", "short_frame_stride", "early_pruning_step", "early_keep"}
            if not (self.picks_final and self.final_score == "windows"):  # else the final pick reads these windows
                inert.add("long_window_chunks")
        if not self.noise_propagation:
            inert.add("noise_fusion_sigma")
        if not self.memory_sinking:
            inert |= {"routing", "quality_threshold", "transition_threshold", "ema_decay", "scene_anchors"}
        if not self.picks_final:
            inert.add("final_score")
        return inert

    @property
    def picks_final(self) -> bool:
        """The finished histories are ranked by the video reward."""
        return self.final_pick and self.histories > 1

    def rewards_needed(self) -> tuple[str, ...]:
        """The reward kinds this search calls: ``()``, ``("video",)`` or ``("image", "video")``."""
        if self.scores_chunks:
            return ("image", "video")
        return ("video",) if self.picks_final else ()


@dataclass(frozen=True)
class RunConfig:
    """What to generate and with which backend."""

    backend: str = "sprites"  # a name in streamt1.backends.BACKENDS
    weights: str | None = None  # folder with the backend's local weights; None = built-in
    model: str | None = None  # architecture preset (streamt1.models.config.PRESETS); None = the backend's
    height: int | None = None  # frame size in pixels; None = the backend's (Wan: 480x832)
    width: int | None = None
    num_frames: int = 48  # latent frames; must be a multiple of the chunk's latent frames
    seed: int = 0
    device: str = "auto"  # auto = cuda if available, else cpu
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    out: str = "outputs"
    progress: bool = True
    compile: bool = False  # torch.compile the generator's blocks (minutes of compiling once; faster chunks)
    attention: str = "auto"  # one of ATTENTION_CHOICES
    # Classifier-free guidance (StreamConfig.guidance_scale / guided_chunks); None: the model's own.
    guidance_scale: float | None = None
    guided_chunks: int | None = None
    guidance_sigmas: tuple[float, float] | None = None  # StreamConfig.guidance_sigmas: [low, high] noise levels
    still_guidance: float | None = None  # StreamConfig.still_guidance (0: off); None: the model's own
    still_guidance_sigmas: tuple[float, float] | None = None  # StreamConfig.still_guidance_sigmas
    # The sampling schedule (StreamConfig.denoising_steps / first_chunk_substeps); None: the model's own.
    # E.g. [1000, 700, 400, 150] with 8 first-chunk substeps halves the Sprites model's later-chunk
    # steps (benchmarks/README.md, "Fourteenth session").
    denoising_steps: tuple[float, ...] | None = None
    first_chunk_substeps: int | None = None
    first_chunk_eta: float | None = None  # StreamConfig.first_chunk_eta; None: the model's own

    def __post_init__(self) -> None:
        from streamt1.backends import backend_names

        names = backend_names()
        require_choice("run.backend", self.backend, names)
        for name in ("weights", "out"):  # "~/wts" in a YAML file or --weights=~/wts: no shell expands those
            value = getattr(self, name)
            if isinstance(value, str) and value.startswith("~"):
                object.__setattr__(self, name, os.path.expanduser(value))
        for name in ("height", "width"):
            value = getattr(self, name)
            require(value is None or value >= 1, f"run.{name}", value, "an integer >= 1")
        require(self.num_frames >= 1, "run.num_frames", self.num_frames,
                "a positive multiple of the backend's chunk length in latent frames (e.g. 3)")
        require(self.seed >= 0, "run.seed", self.seed, "an integer >= 0")
        require_choice("run.dtype", self.dtype, DTYPES)
        require_choice("run.attention", self.attention, ATTENTION_CHOICES)
        require(self.guidance_scale is None or self.guidance_scale >= 0, "run.guidance_scale", self.guidance_scale,
                "a number >= 0 (1: no guidance) or null for the model's own")
        require(self.guided_chunks is None or (isinstance(self.guided_chunks, int) and self.guided_chunks >= 0),
                "run.guided_chunks", self.guided_chunks, "an integer >= 0 (0: every chunk) or null for the model's own")
        for name in ("guidance_sigmas", "still_guidance_sigmas"):
            band = getattr(self, name)
            require(band is None or is_noise_band(band), f"run.{name}", band,
                    "[low, high] noise levels with 0 <= low < high <= 1, e.g. [0.6, 0.85], or null for the model's own")
            if band is not None:
                object.__setattr__(self, name, tuple(float(v) for v in band))
        w = self.still_guidance
        require(w is None or (isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0), "run.still_guidance",
                w, "a number >= 0 (0: off, e.g. 1: the flow moves as far again from a past standing still) or null for "
                "the model's own")
        if w is not None:  # 1 and 1.0 are one setting (and one fingerprint)
            object.__setattr__(self, "still_guidance", float(w))
        steps = self.denoising_steps
        require(steps is None or is_timestep_schedule(steps), "run.denoising_steps", steps,
                "a non-empty list of positive timesteps, strictly decreasing, e.g. [1000, 700, 400, 150], "
                "or null for the model's own")
        if steps is not None:  # the model's StreamConfig checks them against its own timestep range
            object.__setattr__(self, "denoising_steps", tuple(float(t) for t in steps))
        k = self.first_chunk_substeps
        require(k is None or (isinstance(k, int) and not isinstance(k, bool) and k >= 1), "run.first_chunk_substeps",
                k, "an integer >= 1 or null for the model's own")
        eta = self.first_chunk_eta
        require(eta is None or (isinstance(eta, (int, float)) and not isinstance(eta, bool) and 0 <= eta <= 1),
                "run.first_chunk_eta", eta, "a number in [0, 1] (0: the Euler ODE) or null for the model's own")
        if eta is not None:  # 1 and 1.0 are one setting (and one fingerprint)
            object.__setattr__(self, "first_chunk_eta", float(eta))

    @property
    def stream_overrides(self) -> dict[str, Any]:
        """The sampling settings this run sets over the model's own :class:`StreamConfig`."""
        names = ("guidance_scale", "guided_chunks", "guidance_sigmas", "still_guidance", "still_guidance_sigmas",
                 "denoising_steps", "first_chunk_substeps", "first_chunk_eta")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}


@dataclass(frozen=True)
class RewardsConfig:
    """Which rewards score the search and where they run (names: ``streamt1 rewards``).

    ``image`` / ``video`` are ``NAME`` (files found under ``run.weights``) or ``NAME=PATH``; None
    takes the backend's default. Only the rewards the method calls are loaded.
    """

    image: str | None = None
    video: str | None = None
    device: str | None = None  # None = run.device; e.g. cuda:1 to score on a second GPU
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # auto: bf16 on a GPU, else float32
    offload: bool = False  # weights on the CPU between calls, on the device during a call
    max_batch: int | None = None  # frames (image reward) or clips (video reward) per forward; None: the reward's

    def __post_init__(self) -> None:
        from streamt1.rewards import parse_spec

        for kind in ("image", "video"):
            spec = getattr(self, kind)
            if spec is not None:
                parse_spec(spec, kind)  # unknown names and the wrong kind fail here, before any loading
        require_choice("rewards.dtype", self.dtype, DTYPES)
        require(self.max_batch is None or self.max_batch >= 1, "rewards.max_batch", self.max_batch,
                "an integer >= 1")


@dataclass(frozen=True)
class Config:
    """A whole run: the method's name, its search settings and the run settings."""

    method: str = "stream-t1"
    search: SearchConfig = field(default_factory=SearchConfig)
    run: RunConfig = field(default_factory=RunConfig)
    rewards: RewardsConfig = field(default_factory=RewardsConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """The config :meth:`to_dict` (or a recorded run's settings) describes, checked as a config file is."""
        return _build(cls, data, "")


# ---------------------------------------------------------------------------------------------
# Loading: presets, YAML files and key=value overrides share one path.


class _ConfigLoader(yaml.SafeLoader):
    """YAML 1.1 (PyYAML) reads a number with an exponent as a float only with a dot and a signed
    exponent (``1.0e-4``); ``1e-4``, ``1e9`` or ``1.5e3`` stay strings and the config would refuse a
    threshold written so. This loader adds YAML 1.2's rule: ``[-+]?(digits[.digits]|.digits)e[-+]?digits``."""


class _ConfigDumper(yaml.SafeDumper):
    """Quotes every string the loader would read as something else (``1e-5`` as a float too)."""


for _cls in (_ConfigLoader, _ConfigDumper):
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"),
        list("-+0123456789."))


def _unique_keys(loader: _ConfigLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """A mapping whose keys are all different: YAML would keep the last of two silently."""
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: construct_mapping merges it below
            continue
        key, line = loader.construct_object(key_node), key_node.start_mark.line
        if not isinstance(key, (str, int, float, bool)):  # a list or mapping as a key: the config refuses it later
            continue
        if key in first_line:  # (`1` and `true` too: one dict key)
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is given twice (lines {first_line[key] + 1} and {line + 1}): give it once",
                key_node.start_mark)
        first_line[key] = line
    return loader.construct_mapping(node)


_ConfigLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys)


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_ConfigLoader)


def dump_yaml(data: Any) -> str:
    """``data`` as YAML that :func:`read_yaml` reads back to the same values."""
    return yaml.dump(data, Dumper=_ConfigDumper, sort_keys=False)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """PyYAML's error on one line, with the line and column where it has them: its own message spans
    lines and names "<unicode string>" instead of the file or flag."""
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + (getattr(err, "problem", None) or str(err).splitlines()[0])


# The baselines and the full method first, as the paper's tables list them; other presets after, by name
PRESET_ORDER = ("none", "best-of-n", "beam", "stream-t1")


def available_methods() -> dict[str, str]:
    """Method presets shipped with the package: name -> one-line description, in :data:`PRESET_ORDER`."""
    methods = {}
    for entry in resources.files("streamt1.configs").iterdir():
        if entry.name.endswith(".yaml"):
            data = _load_yaml(entry.read_text()) or {}
            methods[entry.name[: -len(".yaml")]] = str(data.get("description", ""))
    rank = {name: i for i, name in enumerate(PRESET_ORDER)}
    return dict(sorted(methods.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def _preset(method: str) -> dict[str, Any]:
    methods = available_methods()
    if method not in methods:
        problem = ("method is empty" if not method.strip()
                   else f"unknown method {method!r}{did_you_mean(method, methods)}")
        raise ConfigError(f"{problem}: expected one of {', '.join(methods)}")
    text = resources.files("streamt1.configs").joinpath(f"{method}.yaml").read_text()
    data = _load_yaml(text) or {}
    data.pop("description", None)
    return data


def _warn_if_the_file_unsets_its_preset(search: Mapping[str, Any], method: str, backend: Mapping[str, Any],
                                        config_file: str | Path) -> None:
    """A file's ``search`` settings replace the preset's (and the backend's search defaults, ``backend``), so a
    `streamt1 config` dump whose ``method:`` line was edited runs the old preset's search under the new name:
    say so, naming the preset the file matches."""
    def pins(name: str) -> dict[str, Any]:
        return {**_preset(name).get("search", {}), **backend}

    unset = {k: v for k, v in pins(method).items() if k in search and search[k] != v}
    if not unset:
        return
    matches = [m for m in available_methods() if m != method
               and all(search.get(k, v) == v for k, v in pins(m).items())]
    like = f" (they are the {' / '.join(matches)} preset's)" if matches else ""
    logger.warning("%s sets %s, which the %s preset sets otherwise%s: the run is labelled %s but searches as the "
                   "file says; remove those lines to take the %s preset's", config_file,
                   ", ".join(f"search.{k}={search[k]}" for k in unset), method, like, method, method)


def load_yaml_file(path: str | Path, what: str) -> Any:
    """The YAML data of ``path``; a missing, unreadable or malformed file is one ConfigError line that
    names ``what`` and the file (and the line and column of a syntax error)."""
    path = Path(path)
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ConfigError(f"{what} {str(path)!r} {problem}")
    try:
        return _load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what} {str(path)!r} cannot be read as UTF-8 text ({err})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {str(path)!r} is not valid YAML: {_yaml_problem(err)}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    data = load_yaml_file(path, "config file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping, not {type(data).__name__}")
    data.pop("description", None)
    return data


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["search.tau=0.3", "run.seed=4"]`` -> nested dict; values are parsed as YAML scalars."""
    nested: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} must look like section.key=value")
        node = nested
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override")
        value = _override_value(key.strip(), raw)
        if leaf in node and node[leaf] != value:  # the last would win silently
            raise ConfigError(f"override {key.strip()!r} is given twice, as {node[leaf]!r} and {value!r}: give it once")
        node[leaf] = value
    return nested


def shared_overrides(method: str, overrides: Sequence[str]) -> list[str]:
    """The ``--set`` items given for every method of a comparison that ``method`` takes: the plain
    baseline ``none`` keeps the search settings its preset pins, since they are what make it plain
    generation (a shared ``--set search.histories=8`` must neither turn it into eight histories nor
    change the fingerprint its videos resume by), and takes none of the settings of the units it has off
    (``search.tau`` cannot change a video no reward scores); every other key reaches it
    (``search.global_sink`` shapes its cache too). A row of its own can still set them."""
    if method != "none":
        return list(overrides)
    pinned = {f"search.{key}" for key in _preset(method).get("search", {})}
    pinned |= {f"search.{key}" for key in build_config(method).search.inert_settings()}
    kept = [item for item in overrides if item.partition("=")[0].strip() not in pinned]
    if len(kept) < len(overrides):
        logger.warning("`none` keeps its own %s (plain generation has them pinned or cannot use them); the other "
                       "methods take them",
                       ", ".join(item.partition("=")[0].strip() for item in overrides if item not in kept))
    return kept


def parse_seeds(value: Any, name: str = "--seeds", place: str = "") -> tuple[int, ...]:
    """Seeds from ``0,1,2`` text, one integer or a list of integers: each >= 0 (run.seed's rule) and none
    repeated (a seed makes the same video again); checked before any video is made. Errors name the
    value as ``<name> <value><place>`` (``seeds: [1, 1] in bench.yaml``)."""
    given = f"{name} {value!r}{place}"
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        items = [s.strip() for s in str(value).split(",")]
        if any(items) and not all(items):  # "0,,1" or "0,1,": a seed left out or a typo, not a list of two
            raise ConfigError(f"{given} has an empty item between its commas: give comma-separated integers, e.g. 0,1,2")
        try:
            seeds = tuple(int(s) for s in items if s)
        except ValueError:
            raise ConfigError(f"{given} must be comma-separated integers, e.g. 0,1,2") from None
    elif isinstance(value, (list, tuple)) and all(isinstance(s, int) and not isinstance(s, bool) for s in value):
        seeds = tuple(value)
    else:
        raise ConfigError(f"{given} is invalid: expected integers, e.g. [0, 1] or 0,1")
    if not seeds:
        raise ConfigError(f"{given} names no seed: give comma-separated integers >= 0, e.g. 0,1")
    if any(s < 0 for s in seeds):
        raise ConfigError(f"{given} is invalid: every seed must be an integer >= 0")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{given} repeats a seed; a seed makes the same video again: give distinct integers")
    return seeds


def refuse_owned_settings(items: Sequence[str] | None, owners: Mapping[str, str], command: str) -> None:
    """``--set run.<key>`` for a key that ``command`` takes from a flag of its own (``owners``: key -> flag)
    would be ignored without a word: it stops with an error naming the flag instead."""
    run = parse_overrides(list(items or ())).get("run")
    for key, flag in owners.items():
        if isinstance(run, Mapping) and key in run:
            raise ConfigError(f"--set run.{key} has no effect on `streamt1 {command}`, which takes it from {flag}: "
                              f"give {flag} instead")


def check_length(name: str, value: Any) -> int:
    """``value`` if it is a video length in latent frames (an integer >= 1), else a ConfigError naming it as
    given (``--num-frames``, ``run.num_frames``); the config checks it against the backend's chunks later."""
    require(isinstance(value, int) and not isinstance(value, bool) and value >= 1, name, value, "an integer >= 1")
    return value


def chosen_frames(asked: int | None, items: Sequence[str] | None, default: int) -> int:
    """The length of a command that chooses one of its own (evaluate, bench): its flag, else the
    ``run.num_frames`` of its ``--set`` items (taken as its length instead of refused as a
    disagreement), else ``default``. A value that was given is checked, never replaced (0 is not "unset")."""
    if asked is not None:
        return check_length("--num-frames", asked)
    run = parse_overrides(list(items or ())).get("run")
    given = run.get("num_frames") if isinstance(run, Mapping) else None
    return default if given is None else check_length("run.num_frames", given)


def _override_value(key: str, raw: str) -> Any:
    """The YAML scalar or list of ``--set key=raw``; None for an empty value."""
    if not raw.strip():
        return None
    try:
        return _load_yaml(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}={raw!r} is not valid YAML: {_yaml_problem(err)}; write a YAML value such "
                          "as 0.3, zscore or [1000, 700, 400, 150], quoting the whole --set in the shell") from None


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``update`` wins."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


_EXPECTED = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _coerce(value: Any, annotation: Any, name: str) -> Any:
    """Check a YAML value against a dataclass field annotation (ints may widen to floats)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        annotation = next(a for a in options if a is not type(None))
    allowed = typing.get_args(annotation) if typing.get_origin(annotation) is Literal else None
    expected = f"one of {', '.join(map(str, allowed))}" if allowed else _EXPECTED.get(annotation, "a value")
    if value is None:  # `--set key=` or a YAML key without a value, for a setting that takes no null
        raise ConfigError(f"{name} is empty: expected {expected}")
    if allowed:
        require_choice(name, value, allowed)
    elif annotation is bool:
        require(isinstance(value, bool), name, value, expected)
    elif annotation is int:
        require(isinstance(value, int) and not isinstance(value, bool), name, value, expected)
    elif annotation is float:
        require(isinstance(value, (int, float)) and not isinstance(value, bool), name, value, expected)
        value = float(value)
    elif annotation is str:
        require(isinstance(value, str), name, value, expected)
    return value


def _build(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"section {prefix.rstrip('.')!r}" if prefix else "the top level"
        # a key written without its section (``tau=0.3``) is named where it lives
        homes = [f"{name}.{key}" for key in unknown for name, f in fields.items()
                 if dataclasses.is_dataclass(hints[name]) and key in {g.name for g in dataclasses.fields(hints[name])}]
        hint = f" (did you mean {' or '.join(homes)}?)" if homes else \
            did_you_mean(prefix + unknown[0], [prefix + name for name in fields])
        raise ConfigError(f"unknown config key(s) {', '.join(prefix + k for k in unknown)} in {where}: "
                          f"expected one of {', '.join(prefix + k for k in fields)}{hint}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if value is None:  # `search:` with nothing below it
                raise ConfigError(f"section {prefix}{key} is empty: give its settings as `key: value` lines indented "
                                  "below it, or remove the line")
            if not isinstance(value, Mapping):
                raise ConfigError(f"{prefix}{key} must be a mapping of settings, not {value!r}")
            kwargs[key] = _build(hint, value, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, hint, prefix + key)
    return cls(**kwargs)


def _backend_defaults(data: Mapping[str, Any], run_settings: Mapping[str, Any]) -> dict[str, Any]:
    """The search defaults of the run's backend (``streamt1.backends``), as a config layer; an unknown
    backend adds none (RunConfig names the error)."""
    from streamt1.backends import BACKENDS

    run = data.get("run")
    chosen = run.get("backend") if isinstance(run, Mapping) else None
    name = run_settings.get("backend") or chosen or RunConfig.backend
    entry = BACKENDS.get(name) if isinstance(name, str) else None
    return {"search": dict(entry.search_defaults)} if entry is not None and entry.search_defaults else {}


def _check_flags_agree(overrides: Mapping[str, Any], flags: Mapping[str, Mapping[str, Any]]) -> None:
    """A ``--set`` must not give a setting another value than the command line does (a flag, or the
    command's own choice such as evaluate's length): the command line would win silently."""
    for section, values in flags.items():
        given = overrides.get(section)
        if not isinstance(given, Mapping):
            continue
        for key, value in values.items():
            if key in given and given[key] != value:
                raise ConfigError(f"--set {section}.{key}={_yaml_text(given[key])} disagrees with "
                                  f"{section}.{key}={_yaml_text(value)}, which the command line sets (a flag, or the "
                                  f"command's own choice): drop the --set, or use the flag where there is one")


def _yaml_text(value: Any) -> str:
    """``value`` as the user would write it after ``--set key=``."""
    return yaml.dump(value, Dumper=_ConfigDumper, default_flow_style=True).strip().removesuffix("...").strip()


def build_config(
    method: str | None = None,
    config_file: str | Path | None = None,
    overrides: list[str] | None = None,
    rewards: Mapping[str, Any] | None = None,
    **run_settings: Any,
) -> Config:
    """The one path from a method name, an optional YAML file and overrides to a validated Config.

    Layers, each replacing the one before: the method preset, the backend's search defaults, the YAML
    file, the overrides, the explicit values.

    ``method``: the preset; None takes the file's or an override's ``method``, else ``stream-t1``. A method
    given here that the file or an override contradicts is an error, not a silent loss to either.
    ``run_settings`` and ``rewards`` are explicit values for the ``run`` and ``rewards`` sections
    (the CLI's flags); ``None`` values are ignored so unset flags fall through to lower layers.
    """
    if isinstance(overrides, str) or not isinstance(overrides, (list, tuple, type(None))):
        raise ConfigError(f"overrides={overrides!r:.80} is invalid: expected a list of key=value strings, "
                          "e.g. ['search.tau=0.3']")
    if rewards is not None and not isinstance(rewards, Mapping):
        raise ConfigError(f"rewards={rewards!r:.80} is invalid: expected a mapping of kind to reward, e.g. "
                          "{'image': 'hpsv3=/models/HPSv3', 'video': 'videoalign=/models/VideoReward'}")
    overrides = list(overrides or ())
    flags = {section: {k: v for k, v in values.items() if v is not None}
             for section, values in (("run", run_settings), ("rewards", rewards or {}))}
    data: dict[str, Any] = {}
    if config_file is not None:
        data = read_yaml(config_file)
        in_file = data.get("run", {}).get("backend") if isinstance(data.get("run"), Mapping) else None
        flag = flags["run"].get("backend")
        if in_file is not None and flag is not None and in_file != flag:
            # the file's search settings may be its backend's defaults (`streamt1 config` writes them all)
            raise ConfigError(f"--backend {flag} conflicts with run.backend: {in_file} in {config_file}")
    file_search = dict(data.get("search") or {}) if isinstance(data.get("search"), Mapping) else {}
    named = {"method": f"method:{' ' + str(data['method']) if data['method'] else ''} in {config_file}"} \
        if "method" in data else {}
    if overrides:
        parsed = parse_overrides(overrides)
        _check_flags_agree(parsed, flags)
        data = merge(data, parsed)
        if "method" in parsed:
            named["method"] = f"the override method={parsed['method'] or ''}"
    if method is not None and data.get("method") is not None and data["method"] != method:
        if str(data["method"]).strip() and str(data["method"]) not in available_methods():
            _preset(str(data["method"]))  # a misspelt method is named as unknown, not as a disagreement
        raise ConfigError(f"method {method} conflicts with {named['method']}; give the method once")
    if "method" in data:  # named in the file or an override: an empty value is refused, not defaulted
        method = data.pop("method")
        if method is None or not str(method).strip():
            raise ConfigError(f"{named.get('method', 'method')} names no method: give a preset from `streamt1 methods`")
    elif method is None:
        method = "stream-t1"
    backend_defaults = _backend_defaults(data, run_settings)
    if file_search:
        _warn_if_the_file_unsets_its_preset(file_search, str(method), backend_defaults.get("search", {}), config_file)
    data = merge(_preset(str(method)), merge(backend_defaults, data))
    data["method"] = method
    return _build(Config, merge(data, {section: values for section, values in flags.items() if values}), "")
