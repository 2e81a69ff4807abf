"""Multi-prompt streams on the Sprites world: what a prompt switch must change and what must carry over.

Each held-out eval scene becomes a scripted two-segment stream: its background and sprites (events
removed) under a first caption, then at the switch one event - the background changes, a sprite
enters, or a sprite leaves (cycled over the scenes) - under a second caption describing the scene
after it. The ground truth is the world rendering that event at the switch frame (the ``world`` row:
the ceiling of every column). Every method runs the same two-prompt schedule; each video is scored:

* ``before`` / ``after``: text alignment of each segment under its own caption
  (:func:`streamt1.metrics.sprites.evaluate_video`), so neither prompt is judged on the other's frames;
* ``change``: the scripted change happened - the new background matches (background switches), the
  new sprite is detected at the end (enter), the sprite that left is gone at the end (leave);
* ``kept``: the sprites on both sides of the switch are still detected at the end (fraction of frames);
* ``identity``: VBench-style subject consistency of those sprites over the whole video;
* ``jump``: how far (pixels) those sprites move between the last frame before the switch and the
  first after it, minus their typical step - the re-cache should carry the scene over, not restart it
  (lower is better; only this column is not in [0, 1]).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Callable, Sequence

import torch
from torch import Tensor

from streamt1 import api
from streamt1.config import Config, ConfigError
from streamt1.evaluate import (REFERENCE, UNSAVED, claim_method, forget_methods, is_kept, method_settings, note_saved,
                               run_weight_digests)
from streamt1.metrics.sprites import evaluate_video, subject_consistency, track_sprite
from streamt1.metrics.stats import Estimate, mean_ci, paired_difference
from streamt1.outputs.atomic import atomic_write_json, atomic_write_text
from streamt1.outputs.progress import ProgressLine, shorten
from streamt1.outputs.results import read_json
from streamt1.schedule import PromptSchedule, from_switches
from streamt1.sprites.captions import caption
from streamt1.sprites.world import (
    COLORS, MOTIONS, SHAPES, BackgroundSpec, Event, EventKind, SceneSpec, SpriteSpec, eval_scenes,
    render,
)

logger = logging.getLogger(__name__)

RESULTS_FILE = "switch_results.json"
TABLE_FILE = "switch_table.md"
COLUMNS = ("before", "after", "change", "kept", "identity", "jump")
END_FRAMES = 4  # frames at the end of a video where a change must show (the world cross-fades over 8)


@dataclass(frozen=True)
class SwitchScene:
    """A scripted two-segment stream: the ground-truth scene and one caption per segment."""

    scene: SceneSpec  # the whole stream, its one event at the switch
    captions: tuple[str, str]
    switch_at: int  # decoded frame of the switch (where the event starts)
    kept: tuple[SpriteSpec, ...]  # sprites visible on both sides

    @property
    def event(self) -> Event:
        return self.scene.events[0]


def _unused_color(used: set[str]) -> str:
    return next(c for c in COLORS if c not in used)


def script_switch(base: SceneSpec, index: int, switch_at: int) -> SwitchScene:
    """``base`` without its events, then one event at ``switch_at``: background, enter or leave by ``index``."""
    sprites, background = base.sprites, base.background
    used = {s.color for s in base.all_sprites} | set(background.colors)
    kind = (EventKind.BACKGROUND, EventKind.ENTER, EventKind.LEAVE)[index % 3]
    if kind is EventKind.LEAVE and len(sprites) < 2 or kind is EventKind.ENTER and len(sprites) >= 3:
        kind = EventKind.BACKGROUND
    after_background, after_sprites = background, sprites
    if kind is EventKind.BACKGROUND:
        after_background = BackgroundSpec("solid", _unused_color(used))
        event = Event(switch_at, kind, background=after_background)
    elif kind is EventKind.ENTER:
        newcomer = SpriteSpec(SHAPES[index % len(SHAPES)], _unused_color(used), "medium",
                              MOTIONS[index % 4], 0.5, 0.5)  # a linear motion: left, right, up or down
        after_sprites = sprites + (newcomer,)
        event = Event(switch_at, kind, sprite=newcomer)
    else:
        after_sprites = sprites[:-1]
        event = Event(switch_at, kind, target=len(sprites) - 1)
    scene = SceneSpec(background, sprites, (event,))
    captions = (caption(SceneSpec(background, sprites)), caption(SceneSpec(after_background, after_sprites)))
    kept = tuple(s for s in sprites if s in after_sprites)
    return SwitchScene(scene, captions, switch_at, kept)


def switch_scenes(count: int, num_frames: int, switch_at: int) -> list[SwitchScene]:
    """The first ``count`` held-out eval scenes, each scripted with a switch at decoded frame ``switch_at``."""
    return [script_switch(s, i, switch_at) for i, s in enumerate(eval_scenes(count, num_frames=num_frames))]


def _wrapped_step(a: Tensor, b: Tensor) -> Tensor:
    """Distance between positions (fractions of the frame) on the wrapping frame."""
    d = torch.remainder(a - b + 0.5, 1.0) - 0.5
    return d.abs()


@torch.no_grad()
def score_switch(frames: Tensor, item: SwitchScene, fps: float) -> dict[str, float]:
    """The columns of :data:`COLUMNS` for one uint8 video ``[T, 3, H, W]``."""
    video = frames.float() / 255
    s, size = item.switch_at, video.shape[-1]
    scores = {
        "before": evaluate_video(video[:s], item.captions[0], fps)["text_alignment"],
        "after": evaluate_video(video[s:], item.captions[1], fps)["text_alignment"],
        "change": _change(video, item, fps),
    }
    tracks = [track_sprite(video, sprite) for sprite in item.kept]
    scores["kept"] = fmean(float(t.detected[-END_FRAMES:].float().mean()) for t in tracks)
    scores["identity"] = subject_consistency(tracks)
    jumps = []
    for t in tracks:
        steps = torch.hypot(_wrapped_step(t.cx[1:], t.cx[:-1]), _wrapped_step(t.cy[1:], t.cy[:-1])) * size
        typical = torch.cat([steps[: s - 1], steps[s:]]).median()
        jumps.append(float((steps[s - 1] - typical).clamp(min=0)))
    scores["jump"] = fmean(jumps)
    return scores


def _change(video: Tensor, item: SwitchScene, fps: float) -> float:
    """How fully the scripted change shows at the end of the video."""
    event, end = item.event, video[-END_FRAMES:]
    if event.kind is EventKind.BACKGROUND:
        return evaluate_video(end, item.captions[1], fps)["alignment_background"]
    if event.kind is EventKind.ENTER:
        return float(track_sprite(end, event.sprite).detected.float().mean())
    gone = item.scene.all_sprites[event.target]
    return 1 - float(track_sprite(end, gone).detected.float().mean())


@dataclass(frozen=True)
class SwitchSettings:
    methods: tuple[str, ...]
    num_prompts: int = 8
    num_frames: int = 24  # latent frames; the switch is the chunk boundary nearest the middle
    seeds: tuple[int, ...] = (0,)
    save_videos: bool = True  # False: scores only (as EvalSettings)
    save_traces: bool = False  # with save_videos False: still write each video's search trace


def run_switch_evaluation(
    settings: SwitchSettings,
    make_config: Callable[[str], Config],
    out_dir: str | Path,
    components: api.Components,
    progress: Callable[[str], None] = logger.info,
    weights: str | Path | None = None,
    overwrite: bool = False,
) -> dict[str, dict[str, float]]:
    """Every method on every scripted stream and seed; returns method -> mean of each column. ``weights``:
    the ``--weights`` folder, whose files' digests join each method's settings (as in ``streamt1 evaluate``);
    ``overwrite``: make the methods' videos again instead of resuming."""
    out, spec = Path(out_dir), components.generator.spec
    c = spec.latent_frames
    if settings.num_frames < 2 * c:
        raise ConfigError(f"--switches needs at least {2 * c} latent frames (a chunk before the switch and one after), "
                          f"got {settings.num_frames}")
    switch_frame = max(c, settings.num_frames // 2 // c * c)
    switch_at = spec.decoded_frames(switch_frame // c)  # decoded frames before the switch
    length = spec.decoded_frames(spec.num_chunks(settings.num_frames))
    items = switch_scenes(settings.num_prompts, length, switch_at)
    schedules = [from_switches(list(item.captions), [switch_frame]) for item in items]
    results_path = out / RESULTS_FILE
    results: dict[str, dict] = (read_json(results_path, f"pass another --out, or delete {results_path} to make its "
                                          "videos again") if results_path.is_file() else {})
    results.setdefault("fingerprints", {})
    results.setdefault("settings", {})
    digests = run_weight_digests(weights)
    configs = {method: make_config(method) for method in settings.methods}  # valid before anything is forgotten
    if overwrite:
        forget_methods(results, results, settings.methods, results_path, out / TABLE_FILE)
    for method, config in configs.items():  # other settings into the same folder stop before any work
        claim_method(results, method, method_settings(config, digests), out,
                     settings.save_videos or settings.save_traces)
    claim_method(results, REFERENCE, {"frames": length, "switch_frame": switch_frame}, out, writes=False)
    reference = results.setdefault(REFERENCE, {})
    for item, schedule in zip(items, schedules):
        stem = api.output_stem(schedule.text(), 0)
        if stem not in reference:
            frames = (render(item.scene, length) * 255).round().to(torch.uint8)
            reference[stem] = score_switch(frames, item, spec.fps)
    unsaved = results.setdefault(UNSAVED, {})
    to_make = sum(not is_kept(results.get(method, {}), unsaved.get(method, ()), api.output_stem(schedule.text(), seed),
                              settings.save_videos)
                  for method in configs for schedule in schedules for seed in settings.seeds)
    line = ProgressLine(total=to_make)  # [i/N] and time left, of the videos still to make
    for method, config in configs.items():
        _run_method(method, config, components, items, schedules, settings, out, results, progress, line)
    rows = {m: results.get(m, {}) for m in (REFERENCE, *settings.methods)}
    atomic_write_json(results_path, results)
    atomic_write_text(out / TABLE_FILE, switch_table(rows, switch_frame, settings.num_frames))
    return {m: _mean_row(videos) for m, videos in rows.items()}


def _run_method(method, config, components, items, schedules: Sequence[PromptSchedule], settings, out, results,
                progress, line: ProgressLine) -> None:
    search = api.make_search(config, components)
    done = results.setdefault(method, {})
    for item, schedule in zip(items, schedules):
        for seed in settings.seeds:
            stem = api.output_stem(schedule.text(), seed)
            if is_kept(done, results[UNSAVED].get(method, ()), stem, settings.save_videos):
                continue
            start = time.perf_counter()
            result = search.run(schedule, settings.num_frames, seed, progress=False)
            api.save_run_outputs(result, out / method, stem, settings.save_videos, settings.save_traces)
            done[stem] = score_switch(result.frames, item, result.fps)
            note_saved(results[UNSAVED], method, stem, settings.save_videos)
            atomic_write_json(out / RESULTS_FILE, results)  # resume point
            progress(line.finish(f"{method:22s} {shorten(stem)}", time.perf_counter() - start))


def _mean_row(videos: dict[str, dict[str, float]]) -> dict[str, float]:
    row = {k: fmean(v[k] for v in videos.values()) for k in COLUMNS} if videos else {}
    return {**row, "videos": len(videos)}


def switch_table(rows: dict[str, dict[str, dict[str, float]]], switch_frame: int, num_frames: int,
                 baseline: str = "none") -> str:
    """Methods (``rows``: method -> video -> scores) as rows, mean ± 95 % interval; then each method's
    paired difference from ``baseline`` on the same videos. Percent, except ``jump`` (pixels, lower
    is better)."""
    header = ["Method", "before align", "after align", "change", "kept", "identity", "jump px", "videos"]
    lines = [f"Two-prompt streams, {num_frames} latent frames, switch at latent frame {switch_frame}; "
             "mean ± 95 % interval.", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, videos in rows.items():
        lines.append(_row(method, [mean_ci([v[k] for v in videos.values()]) if videos else None for k in COLUMNS],
                          len(videos)))
    compared = [m for m in rows if m not in (REFERENCE, baseline) and rows[m] and rows.get(baseline)]
    if compared:
        lines += ["", f"Paired difference from {baseline} (same videos):", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method in compared:
            base = rows[baseline]
            diffs = [paired_difference({s: v[k] for s, v in rows[method].items()}, {s: v[k] for s, v in base.items()})
                     for k in COLUMNS]
            lines.append(_row(f"{method} - {baseline}", diffs, len(set(rows[method]) & set(base))))
    return "\n".join(lines) + "\n"


def _row(name: str, estimates: Sequence[Estimate | None], count: int) -> str:
    cells = ["-" if e is None else e.format(scale=1.0 if k == "jump" else 100.0, digits=2 if k == "jump" else 1)
             for k, e in zip(COLUMNS, estimates)]
    return "| " + " | ".join([name, *cells, str(count)]) + " |"
