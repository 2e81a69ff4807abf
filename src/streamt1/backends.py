"""The one registry of generator backends: name -> factory, expected files, default rewards.

The CLI's ``--backend`` choices, ``run.backend`` validation, ``streamt1 rewards``' defaults and
:func:`streamt1.api.load_components` all read :data:`BACKENDS`; nothing else lists backend names.
A factory is named as ``"module:function"`` and imported only when its backend is built, so the
registry itself stays free of heavy imports. Its signature::

    factory(entry: BackendEntry, run: RunConfig, *, device, dtype, stream_overrides) -> StreamingGenerator

and its ``checker(entry, run) -> int | None`` raises ConfigError / FileNotFoundError for settings it
cannot take and for missing files, reading no weights, so every file of a run (generator and rewards)
is checked before any weight loads. It returns the latent frames of the model's chunk where it knows them
without loading (None: known once built), so that a length or a switch off the chunks is refused first too.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable, Mapping

WAN_FACTORY = "streamt1.models.backends:load_backend"
WAN_CHECKER = "streamt1.models.backends:check_run"
WAN_REWARDS = {"image": "hpsv3", "video": "videoalign"}
# The Wan2.1 files every causal-Wan backend needs, relative to --weights (models.backends.locate_files)
WAN_DIR, WAN_VAE, WAN_T5, WAN_TOKENIZER = ("Wan2.1-T2V-1.3B", "Wan2.1_VAE.pth", "models_t5_umt5-xxl-enc-bf16.pth",
                                           "google/umt5-xxl")
WAN_FILES = (f"{WAN_DIR}/{WAN_VAE}", f"{WAN_DIR}/{WAN_T5}", f"{WAN_DIR}/{WAN_TOKENIZER}/ (tokenizer files)")


@dataclass(frozen=True)
class BackendEntry:
    """One generator backend as the CLI, the config and the Python API see it."""

    name: str
    description: str
    factory: str  # "module:function", see the module docstring
    checker: str  # "module:function", see the module docstring
    files: tuple[str, ...]  # what --weights must hold, relative to it (empty: built in)
    default_rewards: Mapping[str, str]  # "image" / "video" -> reward name in streamt1.rewards
    decodes_frames: bool = True  # False: latents only, so no reward can score it
    needs_weights: bool = True  # False: runs from built-in weights without --weights
    requires: tuple[str, ...] = ()  # packages the factory imports, checked before any loading
    extra: str = ""  # pip extra that installs ``requires``
    options: Mapping[str, Any] = field(default_factory=dict)  # release specifics, read by the factory
    # Search settings measured best with this backend's model and rewards: they replace the method
    # preset's values, and the user's config file, overrides and flags replace them (config.build_config).
    search_defaults: Mapping[str, Any] = field(default_factory=dict)

    def check(self, run: Any) -> int | None:
        """Errors a run (a RunConfig) would hit, found without reading weights: missing packages,
        no --weights, missing files. Returns the chunk's latent frames where known before loading."""
        from streamt1.config import ConfigError

        if run.weights is not None and Path(run.weights).is_file():  # else every message names paths inside a file
            raise ConfigError(f"--weights expects a folder holding {', '.join(self.files)} (and any reward "
                              f"files, `streamt1 rewards` lists them), not the file {run.weights}: pass its folder, "
                              f"--weights {Path(run.weights).parent}")
        missing = [p for p in self.requires if find_spec(p) is None]
        problems = [f"{' and '.join(missing)}: pip install 'stream-t1[{self.extra}]' (in a source checkout: "
                    f"pip install -e '.[{self.extra}]')"] if missing else []
        if self.needs_weights and run.weights is None:
            from streamt1.models.checkpoints import PUBLISHED_AT

            origins = dict.fromkeys(PUBLISHED_AT[n] for n in (Path(f).name for f in self.files) if n in PUBLISHED_AT)
            published = f"; published in {' and '.join(origins)}" if origins else ""
            problems.append(f"--weights DIR with the released checkpoints ({', '.join(self.files)}{published})")
        if problems:  # all at once, so a user does not meet them one run at a time
            raise ConfigError(f"run.backend={self.name!r} needs {'; and '.join(problems)}")
        return import_object(self.checker)(self, run)

    def build(self, run: Any, **kwargs: Any) -> Any:
        """The generator, from ``run`` (a RunConfig); ``kwargs``: device, dtype, stream_overrides."""
        return import_object(self.factory)(self, run, **kwargs)


def import_object(path: str) -> Callable[..., Any]:
    """``"package.module:name"`` -> the object, imported now."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _wan(name: str, description: str, files: tuple[str, ...], **options: Any) -> BackendEntry:
    return BackendEntry(name, description, WAN_FACTORY, WAN_CHECKER, files + WAN_FILES, WAN_REWARDS,
                        requires=("diffusers", "transformers"), extra="wan", options=options)


BACKENDS: dict[str, BackendEntry] = {}


def register_backend(entry: BackendEntry) -> BackendEntry:
    """Add a backend (a plugin's, or a test's); names are unique."""
    if entry.name in BACKENDS:
        raise ValueError(f"backend {entry.name!r} is already registered")
    BACKENDS[entry.name] = entry
    return entry


for _entry in (
    BackendEntry(
        "sprites", "the built-in Sprites world's video model (64x64, 16 fps) with its learned rewards",
        "streamt1.sprites.model:load_backend", "streamt1.sprites.model:check_run",
        ("sprites_model.safetensors", "sprites_model.json"),
        # The object-centric track reward orders held-out sibling candidates like the ground truth in 0.88 of
        # the pairs (the pathway rewards, `sprites-image` / `sprites-video`: 0.57) and lifts Stream-T1's text
        # alignment by 7.5 points on the tuning split (benchmarks/README.md, thirty-ninth session).
        {"image": "sprites-track-image", "video": "sprites-track-video"}, needs_weights=False,
        # The Sprites video reward's long score moves by about 1.5 between chunks, so the paper's
        # transition threshold (0.2, set on VideoAlign's scale) appends a chunk to the sink about every
        # other time and a 15-frame sink freezes sprites; a 6-frame sink, chosen on the tuning split,
        # gains motion and text alignment at 5 s and 30 s (benchmarks/README.md, seventeenth session).
        # Its video reward reads a clip's last frames closely (where siblings differ), so a whole finished video
        # is judged by its end: read window by window, the final pick agrees with the ground truth on 0.669
        # of held-out candidate pairs instead of 0.516 (benchmarks/README.md, thirty-seventh session).
        search_defaults={"max_sink_frames": 6, "final_score": "windows"},
    ),
    _wan("longlive", "LongLive-1.3B on Wan2.1-T2V-1.3B (3-frame sink + 9-frame window)",
         ("longlive_base.pt", "lora.pt"),
         variant="longlive", checkpoint="longlive_base.pt", lora="lora.pt", stream={}),
    _wan("self-forcing", "Self-Forcing DMD on Wan2.1-T2V-1.3B", ("self_forcing_dmd.pt",),
         variant="self-forcing", checkpoint="self_forcing_dmd.pt", stream={"window_frames": 18}),
    _wan("causvid", "CausVid on Wan2.1-T2V-1.3B (3 steps, no timestep warp)", ("autoregressive_checkpoint/model.pt",),
         variant="causvid", checkpoint="autoregressive_checkpoint/model.pt",
         stream={"window_frames": 18, "denoising_steps": (1000, 757, 522), "shift": 1.0}),
):
    register_backend(_entry)


def backend_names() -> tuple[str, ...]:
    return tuple(BACKENDS)


def get_backend(name: str) -> BackendEntry:
    """The entry for ``name``; an unknown name raises ConfigError listing the known ones."""
    from streamt1.config import require_choice

    require_choice("backend", name, list(BACKENDS))
    return BACKENDS[name]
