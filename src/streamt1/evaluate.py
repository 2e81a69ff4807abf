"""Evaluation in the shape of the paper's tables, on the Sprites world's held-out prompts.

Every method runs on the same eval prompts and seeds. Each video is scored with the analytic
ground-truth metrics (``streamt1.metrics.sprites``, independent of the rewards the search used, like
VBench is independent of HPSv3 / VideoAlign) and with the video reward's sub-scores (the paper's
VQ / MQ / TA columns). Videos are kept as ``<out>/<method>/<prompt>-<seed>.mp4`` so external tools
can score them too; per-video results are stored as they finish, so an interrupted run resumes.
The first row, ``world``, scores the eval scenes as the world renders them: the ceiling each
metric can reach on these prompts (what "Real videos" rows are in video-generation papers).

A gain is only claimed with its noise: every method is compared with plain generation (``none``)
on the same prompts and seeds, and the table gives the paired difference with its 95 % interval.
``results.json`` stores, per method, a fingerprint of every setting that made its videos (method
config, video length, weight files); rerunning into the same folder with other settings stops
instead of mixing old and new videos.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Sequence

import torch

from streamt1 import api
from streamt1.config import Config, ConfigError
from streamt1.devices import resolve_device
from streamt1.metrics.sprites import METRIC_NAMES, evaluate_video
from streamt1.metrics.stats import SMALL_SAMPLE, mean_ci, paired_difference
from streamt1.outputs.atomic import atomic_write_json, atomic_write_text
from streamt1.outputs.fingerprint import canonical, fingerprint
from streamt1.outputs.progress import ProgressLine, counted, shorten
from streamt1.outputs.lock import claim_owner
from streamt1.outputs.results import read_json, stored_json, whole_or_none, with_later_run_keys, without_memory_bounds
from streamt1.sprites.captions import caption
from streamt1.sprites.files import file_digest
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.world import FPS, eval_scenes, render

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
TABLE_FILE = "table.md"
RESULTS_FORMAT = 2  # 1: method -> videos, no settings (before fingerprints)
# method -> stems scored without their MP4 (a --no-videos run): a later run that asks for videos makes them
UNSAVED = "unsaved"
REFERENCE = "world"  # the row of the rendered ground truth
REFERENCE_SAVE_EVERY = 64  # world videos scored between saves of results.json
MEANS_LEGEND = (
    "`world`: the world's own renders of the same prompts (the metrics' ceiling). Ground-truth metrics in %: "
    "subject and background consistency, motion smoothness and imaging quality as VBench defines them; text "
    "alignment = the mean of the four `alignment` columns (captioned background, sprites present, their shape, "
    "their motion). `reward` columns: the learned rewards' raw scores (higher is better; not percentages)."
)
BASELINE = "none"  # the row every method is compared with
# Named video lengths in latent frames (one latent frame per video frame at 16 fps, whole chunks):
# the paper's short clips and its 30 s setting (Tables 5-7).
LENGTHS = {"5s": 81, "30s": 480}
DIFFERENCE_COLUMNS = ("subject_consistency", "background_consistency", "text_alignment",
                      "alignment_background", "alignment_presence", "alignment_shape", "alignment_motion")
# Run settings that do not change a video (where it is written, the progress bar, the seed, which
# the evaluation sets per video). Unlike generate and bench (outputs.results), the device stays, as the
# kind that runs (cpu or cuda, however it was named: auto, cuda:1): CPU and GPU videos differ in detail,
# and a table of paired differences must not mix them.
_UNSCORED_RUN_FIELDS = ("out", "progress", "seed")


@dataclass(frozen=True)
class EvalSettings:
    methods: tuple[str, ...]
    num_prompts: int = 32
    num_frames: int = LENGTHS["5s"]
    seeds: tuple[int, ...] = (0, 1)
    save_videos: bool = True  # False: scores only (no MP4s, no video writer needed)
    save_traces: bool = False  # with save_videos False: still write each video's search trace (JSON)


def eval_prompts(count: int, num_latent_frames: int) -> list[str]:
    """The first ``count`` held-out Sprites captions (canonical wording)."""
    return [caption(scene) for scene in eval_scenes(count, num_frames=num_latent_frames)]


SCORED_WITH = "scored_with"  # a row's settings key: the video reward of its columns


@torch.no_grad()
def score_video(frames: torch.Tensor, prompt: str, components: api.Components, fps: float) -> dict[str, float]:
    """Ground-truth metrics plus the video reward's parts for one uint8 video ``[T, 3, H, W]``."""
    video = frames.float() / 255
    return {**evaluate_video(video, prompt, fps=fps), **api.video_reward_columns(video, prompt, components, fps)}


def weight_digests(folder: str | Path | None) -> dict[str, str]:
    """SHA-256 of every ``.safetensors`` file in ``folder`` (None: the built-in Sprites weights)."""
    root = Path(folder) if folder is not None else DEFAULT_WEIGHTS_DIR
    return {p.name: file_digest(p) for p in sorted(root.glob("*.safetensors"))}


def run_weight_digests(folder: str | Path | None) -> dict[str, str]:
    """:func:`weight_digests` of ``--weights`` plus the built-in reward files it lacks: a folder without
    reward files is scored with the built-in rewards (``api.plan_rewards``), so those are part of its
    videos' settings. A folder with every file gives the same digests as :func:`weight_digests`."""
    own = weight_digests(folder)
    lacking = [p for p in sorted(DEFAULT_WEIGHTS_DIR.glob("*_reward.safetensors")) if p.name not in own]
    return {**{p.name: file_digest(p) for p in lacking}, **own}


def method_settings(config: Config, weights: dict[str, str]) -> dict[str, Any]:
    """Everything that makes a method's videos and their scores: its config (minus per-video fields), the
    weights and the video reward that scores every row (:func:`scored_with`)."""
    settings = canonical(config)
    for name in _UNSCORED_RUN_FIELDS:
        settings["run"].pop(name, None)
    settings["run"]["device"] = resolve_device(config.run.device).type
    settings["rewards"].update(api.called_rewards(config))
    return {"config": settings, "weights": weights, **scored_with(config)}


def scored_with(config: Config) -> dict[str, str | None]:
    """The video reward whose columns every row gets, plain generation's and the world's too, although their
    configs call none: part of each row's settings, so a rerun with another --video-reward never mixes two
    rewards' scores in one column."""
    return {SCORED_WITH: api.reward_spec(config, "video")}


def _differing(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted names of the leaves that differ between two settings trees."""
    names, unset = [], object()  # a key one side lacks differs, even from a null on the other
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, unset), new.get(key, unset)
        if isinstance(a, dict) and isinstance(b, dict):
            names += _differing(a, b, f"{prefix}{key}.")
        elif a is unset or b is unset or a != b:
            names.append(f"{prefix}{key}")
    return names


def load_results(out: Path) -> dict[str, Any]:
    """``results.json`` of a run folder (empty if none); refuses files of the old format."""
    path = out / RESULTS_FILE
    if stored_json(path) is None:
        return _empty_results()
    data = read_json(path, f"its videos' scores are lost: pass another --out, or delete {path} to make them again")
    if isinstance(data, dict) and "format" not in data and data:  # format 1: method -> videos
        raise ConfigError(
            f"{path} was written by an older `streamt1 evaluate` without settings fingerprints, so its "
            f"videos cannot be matched to settings; pass another --out or delete {out}"
        )
    damage = _results_damage(data)
    if damage:
        raise ConfigError(f"{path} is not a results file of this `streamt1 evaluate` ({damage}): it was damaged or "
                          f"written by another tool or version; pass another --out, or delete it to make its "
                          "videos' scores again")
    return data


def _results_damage(data: Any) -> str | None:
    """What keeps ``data`` from being a results file (None: nothing); the structure the code reads."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if data.get("format") != RESULTS_FORMAT:
        return f"format {data.get('format')!r}, expected {RESULTS_FORMAT}"
    for key in ("settings", "fingerprints", "videos"):
        if not isinstance(data.get(key), dict):
            return f"no {key!r} object"
    for method, videos in data["videos"].items():
        if method not in data["settings"]:
            return f"videos of {method!r} without its settings"
        if not isinstance(videos, dict) or not all(
                isinstance(scores, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                 for v in scores.values()) for scores in videos.values()):
            return f"the scores of {method!r} are not numbers by video"
    return None


def _empty_results() -> dict[str, Any]:
    return {"format": RESULTS_FORMAT, "settings": {}, "fingerprints": {}, "videos": {}, UNSAVED: {}}


def _settings_conflict(results: dict[str, Any], method: str, settings: dict[str, Any]) -> str | None:
    """How ``settings`` differ from those ``results`` holds for ``method`` (None: same, or none held)."""
    if method not in results["settings"]:
        return None
    held, asked = _comparable(results["settings"][method]), _comparable(settings)
    if SCORED_WITH not in held or SCORED_WITH not in asked:  # a folder from before it was recorded: unknown
        held, asked = ({k: v for k, v in d.items() if k != SCORED_WITH} for d in (held, asked))
    old, fp = fingerprint(held), fingerprint(asked)
    if old == fp:
        return None
    changed = ", ".join(_differing(held, asked)) or "unknown"
    return f"fingerprint {old[:12]}, now {fp[:12]}; changed: {changed}"


def _comparable(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` as :func:`method_settings` writes them now: the device as its kind (older folders
    recorded it as named, cuda:0, cpu), run keys added since as null, and the rewards as
    :func:`api.called_rewards` names them (older folders recorded them as given: unset for the backend's
    default, named for a kind not called)."""
    config = settings.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("run"), dict):
        return settings
    device = str(config["run"].get("device"))
    kind = device.partition(":")[0] if device.partition(":")[0] in ("cpu", "cuda") else device  # auto: unknown
    config = {**config, "run": {**with_later_run_keys(config["run"]), "device": kind}}
    try:
        rewards = api.called_rewards(Config.from_dict(config))
    except (ConfigError, TypeError, ValueError, KeyError):  # settings of another version: compared as recorded
        rewards = {}
    if isinstance(config.get("rewards"), dict):
        config["rewards"] = {**config["rewards"], **rewards}
    # the batch sizes bound memory, not what is computed: a run that ran out of it resumes lower
    return {**settings, "config": without_memory_bounds(config)}


def claim_method(results: dict[str, Any], method: str, settings: dict[str, Any], out: Path, writes: bool) -> None:
    """Record ``method``'s settings, or stop if the folder holds its videos made with other settings; ``writes``:
    the run writes files into ``out / method``, which must then be no other command's (:func:`claim_owner`)."""
    conflict = _settings_conflict(results, method, settings)
    if conflict is not None:
        raise ConfigError(f"{out} holds `{method}` videos made with other settings ({conflict}); pass another "
                          f"--out, or --overwrite to make {'the world row' if method == REFERENCE else 'them'} again")
    if writes:
        claim_owner(out / method, "evaluate")
    results["fingerprints"][method] = fingerprint(settings)
    results["settings"][method] = settings


def forget_methods(results: dict[str, Any], videos: dict[str, Any], methods: Sequence[str], results_path: Path,
                   table_path: Path, world: bool = True) -> None:
    """``--overwrite``: drop the videos, scores and settings of ``methods`` (and the world row, if ``world``)
    from ``results`` (``videos``: its method -> videos mapping), so they are made again; other methods stay.
    The results file is rewritten before the table and the method folders go, so it never vouches for a
    deleted video."""
    for method in (*methods, *((REFERENCE,) if world else ())):
        for table in (videos, results["fingerprints"], results["settings"], results.get(UNSAVED, {})):
            table.pop(method, None)
    if results_path.is_file():
        atomic_write_json(results_path, results)
    table_path.unlink(missing_ok=True)  # its rows described the forgotten videos; the run writes it anew
    for method in methods:
        folder = results_path.parent / method
        if folder.exists():
            shutil.rmtree(folder)


def forget_changed_world(results: dict[str, Any], world: dict[str, Any], out: Path) -> None:
    """``--overwrite``: the world row of ``results`` (``out``'s) goes only if it was made with other settings
    than ``world`` (new weights); else it stays, covering prompts this run does not."""
    if _settings_conflict(results, REFERENCE, world) is not None:
        forget_methods(results, results["videos"], (), out / RESULTS_FILE, out / TABLE_FILE)


def run_evaluation(
    settings: EvalSettings,
    make_config: Callable[[str], Config],
    out_dir: str | Path,
    components: api.Components,
    progress: Callable[[str], None] = logger.info,
    weights: str | Path | None = None,
    rewards: str | None = None,
    overwrite: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run every method on every eval prompt and seed; returns :func:`summarise` of the results.
    ``overwrite``: make the methods' videos again instead of resuming (:func:`forget_methods`).

    ``rewards``: names rewards that ``components`` bring from outside the configs (e.g. the oracles of
    ``benchmarks/sprites_oracle.py``); it joins every row's settings, so such a folder and one made
    with the configs' rewards never resume into or merge with each other."""
    out = Path(out_dir)
    results = load_results(out)
    digests = run_weight_digests(weights)
    extra = {} if rewards is None else {"rewards": rewards}
    configs = {m: make_config(m) for m in settings.methods}  # every method valid before anything is forgotten
    if overwrite:  # the world row stays unless its own settings changed (below): it covers the other rows too
        forget_methods(results, results["videos"], settings.methods, out / RESULTS_FILE, out / TABLE_FILE, world=False)
    for method, config in configs.items():  # all checked before any work
        claim_method(results, method, {**method_settings(config, digests), **extra}, out,
                     settings.save_videos or settings.save_traces)
    if settings.num_prompts > EvalSettings.num_prompts:  # said before the work, not only in the table
        progress(f"evaluating {_describe_prompts(settings.num_prompts)}")
    scenes = eval_scenes(settings.num_prompts, num_frames=settings.num_frames)
    prompts = [caption(scene) for scene in scenes]
    spec = components.generator.spec
    length = spec.decoded_frames(spec.num_chunks(settings.num_frames))  # as long as the generated videos
    world = {"frames": length, "weights": digests, **scored_with(next(iter(configs.values()))), **extra}
    if overwrite:
        forget_changed_world(results, world, out)
    claim_method(results, REFERENCE, world, out, writes=False)
    reference = results["videos"].setdefault(REFERENCE, {})
    missing = [(scene, prompt) for scene, prompt in zip(scenes, prompts) if api.output_stem(prompt, 0) not in reference]
    if missing:  # seconds for the default 32 prompts, but a long silence for thousands: say what runs
        progress(f"{REFERENCE:22s} rendering and scoring the world's own video of {counted(len(missing), 'prompt')}")
    for i, (scene, prompt) in enumerate(missing, 1):
        frames = (render(scene, length) * 255).round().to(torch.uint8)
        reference[api.output_stem(prompt, 0)] = score_video(frames, prompt, components, spec.fps)
        if i % REFERENCE_SAVE_EVERY == 0:
            atomic_write_json(out / RESULTS_FILE, results)  # resume point
    atomic_write_json(out / RESULTS_FILE, results)
    stems = {(prompt, seed): api.output_stem(prompt, seed) for prompt in prompts for seed in settings.seeds}

    unsaved = results.setdefault(UNSAVED, {})

    def kept(method: str, stem: str) -> bool:
        return is_kept(results["videos"].get(method, {}), unsaved.get(method, ()), stem, settings.save_videos)

    to_make = sum(not kept(method, stem) for method in configs for stem in stems.values())
    line = ProgressLine(total=to_make)  # [i/N], time per video, time left: of the videos still to make
    for method, config in configs.items():
        search = api.make_search(config, components)
        done = results["videos"].setdefault(method, {})
        earlier = sum(kept(method, stem) for stem in stems.values())
        remade = sum(stem in done for stem in stems.values()) - earlier
        if earlier or remade:  # a rerun resumes: say so, or it looks as if nothing happened
            untraced = sum(kept(method, stem) and not api.output_paths(out / method, stem)["trace"].exists()
                           for stem in stems.values()) if settings.save_traces else 0
            progress(f"{method:22s} {earlier} of {len(stems)} videos done earlier, kept"
                     + (f" ({untraced} of them without a trace: they are not regenerated)" if untraced else "")
                     + (f"; {counted(remade, 'video')} scored earlier without an MP4 made again to write it"
                        if remade else ""))
        for (prompt, seed), stem in stems.items():
            if kept(method, stem):
                continue
            start = time.perf_counter()
            result = search.run(prompt, settings.num_frames, seed, progress=False)
            with whole_or_none(out / method, stem):  # a stop before the record leaves none of its files
                api.save_run_outputs(result, out / method, stem, settings.save_videos, settings.save_traces)
                done[stem] = score_video(result.frames, prompt, components, result.fps)
                note_saved(unsaved, method, stem, settings.save_videos)
                atomic_write_json(out / RESULTS_FILE, results)  # resume point
            progress(line.finish(f"{method:22s} {shorten(stem)}", time.perf_counter() - start))
    return write_table(results["videos"], settings, length, out)


def is_kept(done: dict[str, Any], unsaved: Collection[str], stem: str, save_videos: bool) -> bool:
    """Whether a rerun keeps video ``stem``: scored earlier (in ``done``), and, where videos are asked
    for, not one a --no-videos run scored without its MP4 (in ``unsaved``)."""
    return stem in done and not (save_videos and stem in unsaved)


def note_saved(unsaved: dict[str, list[str]], method: str, stem: str, saved: bool) -> None:
    """Record in ``unsaved`` (the results' :data:`UNSAVED`) whether ``method``'s video ``stem`` has its MP4."""
    stems = unsaved.setdefault(method, [])
    if saved and stem in stems:
        stems.remove(stem)
    elif not saved and stem not in stems:
        stems.append(stem)
    if not stems:
        del unsaved[method]


def write_table(videos: dict[str, dict], settings: EvalSettings, length: int, out: Path) -> dict[str, dict[str, Any]]:
    """Summarise the world row and ``settings.methods`` on the asked prompts and seeds into ``out/table.md``
    (``length``: decoded frames per video); returns the summary."""
    prompts = eval_prompts(settings.num_prompts, settings.num_frames)
    stems = [api.output_stem(p, s) for p in prompts for s in settings.seeds]
    summary = summarise(videos, (REFERENCE, *settings.methods), stems, [api.output_stem(p, 0) for p in prompts])
    table = markdown_table(summary, settings, length / FPS)
    others = [m for m in videos if m not in (REFERENCE, *settings.methods)]
    if others:  # a rerun with fewer --methods: say what else the folder holds
        table += (f"\n{RESULTS_FILE} also holds {', '.join(f'`{m}`' for m in others)}; add them to --methods "
                  "to tabulate them.\n")
    atomic_write_text(out / TABLE_FILE, table)
    return summary


def merge_results(folders: Sequence[str | Path], out: str | Path) -> dict[str, Any]:
    """Union of the ``results.json`` of evaluation folders run in separate processes, for ``out`` (the caller
    writes it, with :func:`write_results`, once it has checked the union).

    A method (or the world row) found in several folders must have been made with the same settings,
    and a video found twice must have the same scores (beyond :data:`SCORE_TOLERANCE`). ``out``'s own
    ``results.json``, if any, counts as one more folder, so a merge can be redone as more runs finish
    without losing what it merged before; the errors name it as ``out``'s earlier merge.
    """
    out = Path(out)
    sources = {Path(f): str(f) for f in folders}  # folder -> its name in the errors
    if stored_json(out / RESULTS_FILE) is not None and out.resolve() not in {f.resolve() for f in sources}:
        sources[out] = f"{out} (its earlier merge, which this one extends)"  # not listed by the user: say so
    missing = [name for f, name in sources.items() if stored_json(f / RESULTS_FILE) is None]
    if missing:
        raise ConfigError(f"cannot merge: no {RESULTS_FILE} in {', '.join(missing)} (folders written by "
                          "`streamt1 evaluate --out DIR`)")
    merged = _empty_results()
    made_in: dict[str, str] = {}  # method -> the name of the first folder that holds it
    for folder, name in sources.items():
        data = load_results(folder)
        for method, settings in data["settings"].items():
            conflict = _settings_conflict(merged, method, settings)
            if conflict is not None:
                raise ConfigError(f"cannot merge `{method}`: {made_in[method]} and {name} made it with different "
                                  f"settings ({conflict}); merge only folders of the same settings")
            made_in.setdefault(method, name)
            merged["fingerprints"][method] = fingerprint(settings)
            merged["settings"][method] = settings
        for method, videos in data["videos"].items():
            _merge_videos(merged["videos"].setdefault(method, {}), videos, method, made_in[method], name)
        for method, stems in data.get(UNSAVED, {}).items():
            for stem in stems:
                note_saved(merged[UNSAVED], method, stem, saved=False)
    return merged


def write_results(out: str | Path, results: dict[str, Any]) -> None:
    """``out/results.json``, atomically."""
    atomic_write_json(Path(out) / RESULTS_FILE, results)


# Scores of one video are equal when its folders made the same video; the tolerance only absorbs
# float noise of scoring, far below what a different video changes.
SCORE_TOLERANCE = 1e-6


def _merge_videos(into: dict[str, dict], videos: dict[str, dict], method: str, first: str, folder: str) -> None:
    for stem, scores in videos.items():
        old = into.setdefault(stem, scores)
        differ = [k for k in sorted(set(old) | set(scores))
                  if k not in old or k not in scores or abs(old[k] - scores[k]) > SCORE_TOLERANCE]
        if differ:
            raise ConfigError(
                f"cannot merge `{method}` video {stem}: its scores differ between {first} and {folder} "
                f"({', '.join(differ)}): they made different videos under the same settings, or scored them "
                "with other rewards (an oracle folder of benchmarks/sprites_oracle.py, other reward weights); "
                "merge only folders of one evaluation"
            )


def merged_methods(results: dict[str, Any]) -> tuple[str, ...]:
    """Every method of merged results, the baseline first, then in the order the folders gave them."""
    methods = [m for m in results["settings"] if m not in (REFERENCE, BASELINE)]
    return (BASELINE, *methods) if BASELINE in results["settings"] else tuple(methods)


def recorded_num_frames(results: dict[str, Any], methods: Sequence[str]) -> int:
    """The latent frames per video that ``methods`` were run with (they must agree)."""
    missing = [m for m in methods if m not in results["settings"]]
    if missing:
        raise ConfigError(f"no results for {', '.join(missing)}; the folders hold "
                          f"{', '.join(merged_methods(results)) or 'no method'}")
    lengths = {m: results["settings"][m]["config"]["run"]["num_frames"] for m in methods}
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"the methods were run at different lengths ({lengths}, latent frames); "
                          "tabulate each length separately with --methods")
    return next(iter(lengths.values()))


def recorded_seeds(results: dict[str, Any], methods: Sequence[str]) -> tuple[int, ...]:
    """Every seed that videos of ``methods`` were made with (a video's stem ends in ``-<seed>``)."""
    return tuple(sorted({int(stem.rsplit("-", 1)[1]) for m in methods for stem in results["videos"].get(m, {})}))


def _pick(videos: dict[str, dict[str, float]], stems: Sequence[str]) -> dict[str, dict[str, float]]:
    return {s: videos[s] for s in stems if s in videos}


def summarise(
    videos: dict[str, dict], methods: Sequence[str], stems: Sequence[str] | None = None,
    reference_stems: Sequence[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per method: mean of every score, and (methods other than world / none) the paired difference
    of :data:`DIFFERENCE_COLUMNS` against ``none`` as :class:`~streamt1.metrics.stats.Estimate`.

    ``stems`` / ``reference_stems``: the videos to use (None: all), for the methods / the world row
    (one video per prompt)."""
    summary: dict[str, dict[str, Any]] = {}
    for method in methods:
        rows = videos.get(method, {})
        keep = reference_stems if method == REFERENCE else stems
        rows = rows if keep is None else _pick(rows, keep)
        names = sorted({k for v in rows.values() for k in v})
        summary[method] = {k: mean_ci([v[k] for v in rows.values() if k in v]) for k in names}
        summary[method]["videos"] = len(rows)
        baseline = videos.get(BASELINE, {})
        if method in (REFERENCE, BASELINE) or not set(rows) & set(baseline):
            continue  # no video to pair (e.g. merged folders that ran other seeds)
        summary[method]["difference"] = {
            k: paired_difference({s: v[k] for s, v in rows.items()}, {s: v[k] for s, v in baseline.items()})
            for k in DIFFERENCE_COLUMNS if k in names
        }
    return summary


def _means_table(summary: dict[str, dict[str, Any]]) -> list[str]:
    metric_cols = list(METRIC_NAMES) + [c for c in DIFFERENCE_COLUMNS if c.startswith("alignment_")]
    reward_cols = sorted({k for row in summary.values() for k in row if k.startswith("reward_")})
    header = ["Method", *[c.replace("_", " ") for c in metric_cols + reward_cols], "videos"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, row in summary.items():
        cells = [f"{100 * row[c].mean:.1f}" if c in row else "-" for c in metric_cols]
        cells += [f"{row[c].mean:.2f}" if c in row else "-" for c in reward_cols]
        lines.append("| " + " | ".join([method, *cells, str(row["videos"])]) + " |")
    return lines


def _difference_table(summary: dict[str, dict[str, Any]]) -> list[str]:
    header = ["Method", *[c.replace("_", " ") for c in DIFFERENCE_COLUMNS]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, row in summary.items():
        if "difference" not in row:
            continue
        cells = []
        for c in DIFFERENCE_COLUMNS:
            d = row["difference"].get(c)
            text = "-" if d is None else d.format(scale=100, digits=1)
            cells.append(f"**{text}**" if d is not None and d.excludes_zero else text)
        lines.append("| " + " | ".join([method, *cells]) + " |")
    return lines


def _missing_videos(summary: dict[str, dict[str, Any]], settings: EvalSettings) -> list[str]:
    """A note naming every row with fewer videos than the prompts x seeds asked (unfinished or merged runs)."""
    def expected(method: str) -> int:  # the world has one video per prompt
        return settings.num_prompts * (1 if method == REFERENCE else len(settings.seeds))

    short = [f"`{m}` has {row['videos']} of {expected(m)}" for m, row in summary.items()
             if row["videos"] < expected(m)]
    if not short:
        return []
    return ["", f"Unfinished rows: {', '.join(short)}. Means use the videos there are; paired differences "
                f"only the prompts and seeds both the method and `{BASELINE}` have."]


def _describe_prompts(num_prompts: int) -> str:
    """What ``num_prompts`` evaluation prompts are: held out, or partly the tuning split."""
    reported = EvalSettings.num_prompts  # the next as many are the tuning split of the Sprites defaults
    if num_prompts <= reported:
        return counted(num_prompts, "held-out prompt")
    tuning = min(num_prompts, 2 * reported)
    beyond = f"; {2 * reported}-{num_prompts - 1} in neither split" if num_prompts > 2 * reported else ""
    return (f"{num_prompts} prompts (0-{reported - 1} held out; {reported}-{tuning - 1} the tuning split, on which the "
            f"Sprites defaults were chosen{beyond}: report 0-{reported - 1} as held out)")


def markdown_table(summary: dict[str, dict[str, Any]], settings: EvalSettings, seconds: float) -> str:
    """Means (ground-truth metrics as percentages, VBench style; rewards as raw logits), then each
    method's paired difference against plain generation with its 95 % interval (bold: excludes 0)."""
    lines = [f"{_describe_prompts(settings.num_prompts)} x seeds {','.join(map(str, settings.seeds))}; "
             f"videos of {seconds:.1f} s ({settings.num_frames} latent frames).", "", *_means_table(summary),
             *_missing_videos(summary, settings), "", MEANS_LEGEND]
    difference = _difference_table(summary)
    if len(difference) > 2:
        lines += ["", f"Paired difference vs `{BASELINE}` on the ground-truth metrics that tell methods apart "
                      f"(points, mean ± 95 % Student-t interval over the videos both have; bold: excludes 0):", "",
                  *difference]
        pairs = min(d.n for row in summary.values() for d in row.get("difference", {}).values())
        if pairs < SMALL_SAMPLE:
            lines += ["", f"Only {counted(pairs, 'paired video')}: the intervals assume roughly normal differences "
                          f"and are rough this small; the default ({EvalSettings.num_prompts} prompts x "
                          f"{len(EvalSettings.seeds)} seeds) tells gains from noise."]
    return "\n".join(lines) + "\n"
