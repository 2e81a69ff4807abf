"""``streamt1 score FOLDER``: VBench dimensions (and a video reward's parts) for every video of a folder.

Every ``*.mp4`` under the folder is scored (hidden temp files and the output folder excepted); each
folder that holds videos directly is one table row, named by its path under the folder (``none`` for a
``bench`` folder's method, ``b2/none`` one level deeper), so no row mixes two methods. A video that
cannot be decoded is skipped with a warning; the rest are scored and merged, then the run fails
(:class:`VideosSkipped`) listing the skipped ones. With a prompt file, a video missing from it fails the
run before any scoring (:func:`check_prompts`): falling back to its file name would score another
prompt silently. Each video's record goes to ``<out>/per_video/<video path>.json`` as soon as it is
scored (atomically), so an interrupted run resumes where it stopped; a video whose file size changed
is scored again. Like ``streamt1 bench``, the work shards over processes (``torchrun --nproc_per_node N
-m streamt1 score``): videos are dealt round-robin by their sorted index, and rank 0 merges every record into
``<out>/results.json`` once all ranks are done. The settings that shape the numbers are
fingerprinted: results made with other settings are never mixed in (pass ``overwrite`` or another
``out``). The table (``table.md``) shows VBench's aggregate per dimension (see
:func:`streamt1.metrics.vbench.aggregate`) and the reward parts as means with 95 % intervals;
``summary.json`` holds both aggregates and the per-video means with their intervals. VBench's own
files are written too (:func:`write_vbench_layout`), so its tools read our numbers and its
``--prompt_file`` runs the official evaluator on the same videos.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import torch

from streamt1.config import ConfigError, require, require_choice
from streamt1.distributed import Shard, process_group, wait_for_all_ranks
from streamt1.metrics import vbench
from streamt1.metrics.stats import mean_ci
from streamt1.outputs.atomic import atomic_write_json, atomic_write_text
from streamt1.outputs.fingerprint import canonical, fingerprint
from streamt1.outputs.naming import output_paths
from streamt1.outputs.progress import ProgressLine, shorten
from streamt1.outputs.results import read_json, settings_diff
from streamt1.outputs.video import mp4_info, read_mp4
from streamt1.rewards import REWARDS, RewardEntry, load_video_reward, parse_spec, reward_names

logger = logging.getLogger(__name__)

RESULTS_FILE, SUMMARY_FILE, TABLE_FILE = "results.json", "summary.json", "table.md"
RECORDS_DIR = "per_video"  # one <video path>.json per video: each rank writes its own, rank 0 merges
SKIPPED_DIR = "skipped"  # one <video path>.json per video that could not be decoded, for rank 0 to list
PROMPTS_FILE, EVAL_RESULTS_SUFFIX = "prompts.json", "_eval_results.json"  # VBench's formats
DEFAULT_OUT = "scores"  # inside the scored folder
TOP_LEVEL = "."  # the row of videos directly in the folder


class UnreadableVideo(ValueError):
    """A video file FFmpeg cannot decode: skipped, unlike a video a metric refuses (which stops the run)."""


class VideosSkipped(ValueError):
    """Some videos could not be decoded; the others were scored and every output written. A ValueError, so
    the CLI prints the list and exits 2 (bad input)."""


class PromptFile(dict):
    """A ``--prompt-file``'s {video path: prompt}, knowing its file: a video it lacks is named with it."""

    def __init__(self, entries: dict[str, str], path: Path) -> None:
        super().__init__(entries)
        self.path = path


@dataclass(frozen=True)
class ScoreSettings:
    """What shapes the numbers; fingerprinted with the CLIP precision and the reward's name, not its path."""

    dimensions: tuple[str, ...] = vbench.AVAILABLE
    long: str = "auto"  # "auto" (VBench-Long from 5.0 s), "on", "off"
    video_reward: str | None = None  # "NAME" or "NAME=PATH", as generate's --video-reward

    def __post_init__(self) -> None:
        vbench.check_dimensions(self.dimensions)
        if not self.dimensions and self.video_reward is None:
            raise ConfigError("nothing to score: choose VBench dimensions with --metrics, or add a video reward "
                              "with --video-reward NAME (--metrics none scores with the reward alone)")
        require_choice("long", self.long, vbench.LONG_MODES)
        self.reward_folder()  # a bad name, or a name with no folder, fails before any video is read

    def reward_folder(self) -> tuple[RewardEntry, Path] | None:
        """The video reward's entry and folder (PATH, else its built-in weights), when one is asked for."""
        if self.video_reward is None:
            return None
        name = self.video_reward.partition("=")[0].strip()
        if name in REWARDS and REWARDS[name].kind != "video":  # parse_spec's advice names a flag score lacks
            raise ConfigError(f"--video-reward {name}: {name!r} is an image reward, not a video reward; `streamt1 "
                              f"score` adds a video reward only: {', '.join(reward_names('video'))}")
        entry, path = parse_spec(self.video_reward, "video")
        if path is None and entry.builtin is None:
            raise ConfigError(f"--video-reward {entry.name} needs its files: pass --video-reward {entry.name}=PATH")
        return entry, path or entry.builtin

    def fingerprinted(self) -> dict:
        """The settings record of the results: the reward by name only (its folder may move)."""
        reward = self.reward_folder()
        return {**asdict(self), "video_reward": reward[0].name if reward else None}


def find_videos(folder: Path, out: Path) -> list[Path]:
    """Every visible ``*.mp4`` under ``folder``, outside ``out``, sorted."""
    out = out.resolve()
    found = [p for p in folder.rglob("*.mp4")
             if not any(part.startswith(".") for part in p.relative_to(folder).parts)
             and out not in p.resolve().parents]
    return sorted(found)


def prompt_keys(path: Path) -> tuple[str, ...]:
    """The keys a ``--prompt-file`` may give ``path``'s prompt under: as given, absolute, or its name."""
    return str(path), str(path.resolve()), path.name


def video_prompts(path: Path, prompts: dict[str, str]) -> tuple[str, list[tuple[str, int | float]] | None]:
    """The video's prompt from ``prompts`` (VBench's ``--prompt_file`` {path: prompt}; a scored folder's
    videos are all in it, :func:`check_prompts`), else the trace, else VBench's filename rule; and, for a
    prompt-switch stream, each of its prompts with where it starts, from the trace: its first decoded frame
    (int), or in traces older than that record a fraction of the video (float); None for one prompt or a
    ``--prompt-file`` entry. A trace that cannot be read raises a ConfigError naming it."""
    for key in prompt_keys(path):
        if key in prompts:
            return prompts[key], None
    trace = output_paths(path.parent, path.stem)["trace"]
    filename_rule = re.sub(r"-\d+$", "", path.stem)  # VBench's get_prompt_from_filename
    if not trace.is_file():
        return filename_rule, None
    try:
        data = json.loads(trace.read_text())
        prompt = data.get("prompt")
        if not isinstance(prompt, str):
            return filename_rule, None
        segments, latent_frames = data.get("segments") or [], (data.get("config") or {}).get("run", {}).get("num_frames")
        if len(segments) < 2 or not latent_frames:
            return prompt, None
        return prompt, [(str(s["prompt"]), int(s["from_decoded_frame"]) if "from_decoded_frame" in s
                         else int(s["from_frame"]) / latent_frames) for s in segments]
    except (ValueError, AttributeError, KeyError, TypeError) as err:  # json's errors are ValueErrors
        raise ConfigError(f"{trace} is not a readable trace ({type(err).__name__}: {err}); {path.name}'s prompt is "
                          "read from it: delete or repair it, or give the prompt with --prompt-file "
                          "{video path: prompt}") from None


def video_prompt(path: Path, prompts: dict[str, str]) -> str:
    """The prompt of :func:`video_prompts`."""
    return video_prompts(path, prompts)[0]


def read_vbench_prompt_file(path: str | Path | None) -> dict[str, str]:
    """{video path: prompt} of the file at ``path`` (a :class:`PromptFile`), or {} for no file."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no prompt file at {path}; give a JSON object {{video path: prompt}}")
    data = read_json(path, "give a JSON object {video path: prompt} (VBench's --prompt_file)")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(f"{path}: expected a JSON object {{video path: prompt}} (VBench's --prompt_file)")
    return PromptFile({str(k): v for k, v in data.items()}, path)


def check_prompts(folder: Path, keys: Sequence[str], prompts: dict[str, str] | None) -> None:
    """With a prompt file, a ConfigError naming the videos it lacks: a lacking video would otherwise go by
    its trace or file name, silently scored against another caption than the file's."""
    if not prompts and not isinstance(prompts, PromptFile):  # no prompt file: traces and file names
        return
    missing = [folder / k for k in keys if not any(p in prompts for p in prompt_keys(folder / k))]
    if not missing:
        return
    source = f"the prompt file {prompts.path}" if isinstance(prompts, PromptFile) else "the prompts given"
    listed = ", ".join(map(str, missing[:5])) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    each = "" if len(missing) == 1 else " for each"
    raise ConfigError(f"{listed} {'is' if len(missing) == 1 else 'are'} not in {source}: add an entry "
                      f"\"{missing[0].name}\": \"<its prompt>\"{each} (keyed by the video's path, absolute path or "
                      "file name), or leave out --prompt-file to read prompts from traces and file names")


def load_reward(settings: ScoreSettings, device: torch.device) -> Callable | None:
    """The video reward from the reward registry (in its GPU dtype on a GPU), when one is asked for."""
    reward = settings.reward_folder()
    if reward is None:
        return None
    entry, folder = reward
    dtype = getattr(torch, entry.gpu_dtype) if device.type == "cuda" else torch.float32
    return load_video_reward(entry.name, folder, device, dtype)


def score_one(path: Path, prompt: str, settings: ScoreSettings, backbones: vbench.Backbones,
              reward: Callable | None, switches: list[tuple[str, int | float]] | None = None) -> dict:
    """The record of one video: its facts, one score per dimension and the reward parts. A prompt-switch
    stream (``switches``: :func:`video_prompts`) has each part scored under its own prompt, the
    reward being their frame-weighted mean: a caption reward reads one caption, not "A then B"."""
    try:
        fps = mp4_info(path).fps
        video = torch.from_numpy(read_mp4(path)).permute(0, 3, 1, 2).contiguous()  # uint8 [T, 3, H, W]
    except ValueError as err:  # FFmpeg cannot decode it (the message names the file): the caller skips it
        raise UnreadableVideo(str(err)) from err
    long = vbench.use_long(len(video), fps, settings.long)
    record = {"prompt": prompt, "frames": len(video), "fps": fps, "long": long,
              "size": path.stat().st_size, "scores": {}, "reward": {}}
    for name in settings.dimensions:
        record["scores"][name] = asdict(vbench.score_dimension(video, fps, name, backbones, long))
    if reward is not None:
        pieces = switches or [(prompt, 0)]
        bounds = [start if isinstance(start, int) else round(start * len(video)) for _, start in pieces] + [len(video)]
        for (text, _), first, end in zip(pieces, bounds, bounds[1:]):
            if end <= first:
                continue
            result = reward(video[None, first:end], [text], fps)
            share = (end - first) / len(video)  # 1 for a video of one prompt: its scores exactly
            for part, value in {"overall": result.overall, **result.parts}.items():
                record["reward"][part] = record["reward"].get(part, 0.0) + float(value[0]) * share
    return record


@dataclass(frozen=True)
class ScorePlan:
    """What every rank agrees on before any work: the videos (sorted keys), the settings and what is done."""

    folder: Path
    out: Path
    keys: list[str]  # video paths relative to the folder, in global order
    settings: dict  # the settings record (fingerprinted)
    done: dict[str, dict]  # key -> record of earlier runs with these settings

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.settings)


def record_path(out: Path, key: str) -> Path:
    return out / RECORDS_DIR / f"{key}.json"


def skipped_path(out: Path, key: str) -> Path:
    return out / SKIPPED_DIR / f"{key}.json"


def _earlier_records(out: Path, keys: Sequence[str], settings: dict) -> dict[str, dict]:
    """Earlier records of the videos ``keys`` (the merged file, then the per-video files, which are
    newer), or ConfigError when any was made with other settings (named where the merged file has them)."""
    fp, found, earlier = fingerprint(settings), {}, None
    merged = out / RESULTS_FILE
    if merged.is_file():
        fix = f"delete it, or pass --overwrite to score every video in {out} again"
        data = read_json(merged, fix)
        videos = data.get("videos", {}) if isinstance(data, dict) else None
        if not isinstance(videos, dict) or not all(_is_record(r) for r in videos.values()):
            raise ConfigError(f"{merged} is not a scores file (an object whose \"videos\" map each video to its "
                              f"record); {fix}")
        found.update({k: (data.get("fingerprint"), r) for k, r in videos.items()})
        earlier = data.get("settings")
    for path in sorted((out / RECORDS_DIR).rglob("*.mp4.json")):  # a row's <row>_eval_results.json may sit here
        fix = "delete it (that video is scored again), or pass --overwrite"
        data = read_json(path, fix)
        if not isinstance(data, dict) or not _is_record(data.get("record")):
            raise ConfigError(f"{path} is not a video's scores (an object with its \"record\"); {fix}")
        found[path.relative_to(out / RECORDS_DIR).as_posix().removesuffix(".json")] = (data.get("fingerprint"),
                                                                                        data["record"])
    found = {key: found[key] for key in keys if key in found}  # a removed video's record is inert
    if any(stored != fp for stored, _ in found.values()):
        changed = f" ({settings_diff(earlier, canonical(settings))})" if isinstance(earlier, dict) else ""
        raise ConfigError(f"{out} holds results made with other settings{changed}; pass --overwrite to "
                          "replace them or --out for another folder")
    return {key: record for key, (_, record) in found.items()}


def _is_record(record: Any) -> bool:
    """Whether ``record`` has the shape :func:`score_one` writes (what a resume reads of it)."""
    return (isinstance(record, dict) and isinstance(record.get("size"), int)
            and all(isinstance(record.get(k), dict) for k in ("scores", "reward")))


def out_folder(folder: str | Path, out: str | Path | None = None) -> Path:
    """Where the scores of ``folder`` go: ``out``, or :data:`DEFAULT_OUT` inside it."""
    return Path(out) if out is not None else Path(folder) / DEFAULT_OUT


def check_folder(folder: str | Path, out: str | Path | None = None) -> list[Path]:
    """The videos to score in ``folder`` (outside ``out``); an error naming it if it is not a folder
    or holds none (the CLI checks this before the weights)."""
    folder = Path(folder)
    if not folder.is_dir():
        where = f"{folder} is a file, not a folder" if folder.exists() else f"no folder at {folder}"
        raise FileNotFoundError(f"{where}: give a generate / bench output folder")
    videos = find_videos(folder, out_folder(folder, out))
    if not videos:
        raise ConfigError(f"{folder} holds no .mp4 video to score")
    return videos


def plan_scoring(folder: str | Path, settings: ScoreSettings, backbones: vbench.Backbones, *,
                 out: str | Path | None = None, overwrite: bool = False) -> ScorePlan:
    """The videos of ``folder`` and the earlier results to resume from; every check before any work."""
    videos = check_folder(folder, out)
    folder, out = Path(folder), out_folder(folder, out)
    vbench.check_weights(settings.dimensions, backbones.weights_dir)  # every file before any work
    record = {**settings.fingerprinted(), "clip_half": backbones.clip_half}
    keys = [p.relative_to(folder).as_posix() for p in videos]
    done = {} if overwrite else _earlier_records(out, keys, record)
    return ScorePlan(folder=folder, out=out, keys=keys, settings=record, done=done)


def score_items(plan: ScorePlan, settings: ScoreSettings, backbones: vbench.Backbones, shard: Shard, *,
                prompts: dict[str, str] | None = None, reward: Callable | None = None,
                progress: Callable[[str], None] = logger.info) -> int:
    """This rank's videos (round-robin by global index); each record is written on its own, atomically,
    as the resume point. Videos already scored with the same file size are kept; one that cannot be decoded
    is skipped with a warning and marked for :func:`merge_results` to list. Returns videos scored."""
    mine = shard.take(plan.keys)
    kept = {key for key in mine if key in plan.done and plan.done[key]["size"] == (plan.folder / key).stat().st_size}
    line = ProgressLine(total=len(mine) - len(kept))  # of the videos still to score
    skipped = 0
    if kept and shard.is_main:  # a rerun resumes: say so, or it looks as if nothing happened
        progress(f"{len(kept)} of {len(mine)} videos scored earlier, kept")
    for key in mine:
        path = plan.folder / key
        if key in kept:
            continue
        start = time.perf_counter()
        prompt, switches = video_prompts(path, prompts or {})
        try:
            record = score_one(path, prompt, settings, backbones, reward, switches)
        except UnreadableVideo as err:  # one bad file must not cost the hours of scoring the others
            logger.warning("%s; skipped, the other videos are scored", err)
            record_path(plan.out, key).unlink(missing_ok=True)  # an earlier record is of another file
            atomic_write_json(skipped_path(plan.out, key), {"fingerprint": plan.fingerprint, "error": str(err)})
            skipped += 1
            message = line.finish(f"skipped {key} (cannot be decoded)", time.perf_counter() - start)
            if shard.is_main:
                progress(message if shard.world_size == 1 else f"rank 0 of {shard.world_size}: {message}")
            continue
        except ValueError as err:  # a video the metrics cannot take (one frame, ...): name it, once
            if str(path) in str(err):
                raise
            source = "" if any(k in (prompts or {}) for k in prompt_keys(path)) else (
                f" (its prompt {shorten(prompt, 60)!r} was read from its trace or file name; "
                "if that is not its caption, give it with --prompt-file {video path: prompt})")
            raise ValueError(f"{path} cannot be scored: {err}{source}; remove it from the folder or score it "
                             "without the metric that refuses it") from err
        atomic_write_json(record_path(plan.out, key), {"fingerprint": plan.fingerprint, "rank": shard.rank,
                                                       "world_size": shard.world_size, "record": record})
        skipped_path(plan.out, key).unlink(missing_ok=True)  # decoded now: no longer listed as skipped
        message = line.finish(f"scored {key}", time.perf_counter() - start)
        if shard.is_main:  # its share is 1/W of the run, so its time left is the run's
            progress(message if shard.world_size == 1 else f"rank 0 of {shard.world_size}: {message}")
    return line.done - skipped


def _this_run(plan: ScorePlan, path_of: Callable[[Path, str], Path], field: str) -> dict[str, Any]:
    """{key: file[field]} of the videos' per-video files (records or skip markers) made with these settings."""
    found = {}
    for key in plan.keys:
        path = path_of(plan.out, key)
        if path.is_file():
            data = json.loads(path.read_text())
            if data.get("fingerprint") == plan.fingerprint:
                found[key] = data[field]
    return found


def merge_results(plan: ScorePlan, dimensions: Sequence[str]) -> dict:
    """Once every rank is done: ``results.json`` (every video still in the folder), the summary, the
    table and VBench's files. Returns the summary; raises :class:`VideosSkipped` after writing them when
    some videos could not be decoded."""
    records = {**plan.done, **_this_run(plan, record_path, "record")}
    # a marker outlives its cause where a run stopped before this merge and the good file came back
    skipped = {key: why for key, why in _this_run(plan, skipped_path, "error").items() if key not in records}
    missing = [k for k in plan.keys if k not in records and k not in skipped]
    if missing:
        raise RuntimeError(f"{len(missing)} video(s) have no result after every rank finished, e.g. {missing[0]}")
    live = {k: records[k] for k in plan.keys if k not in skipped}
    extra = {"skipped": skipped} if skipped else {}  # the list outlives the terminal's
    atomic_write_json(plan.out / RESULTS_FILE, {"fingerprint": plan.fingerprint, "settings": plan.settings,
                                                "videos": live, **extra})
    summary = summarise(live, dimensions)
    atomic_write_json(plan.out / SUMMARY_FILE, summary)
    atomic_write_text(plan.out / TABLE_FILE, markdown_table(summary, dimensions))
    write_vbench_layout(plan.out, plan.folder, live, dimensions)
    if skipped:
        lines = "\n".join(f"  {why}" for why in skipped.values())  # each names its file
        raise VideosSkipped(f"{len(skipped)} of {len(plan.keys)} videos could not be decoded and were skipped "
                            f"(the other {len(live)} are scored, see {plan.out / TABLE_FILE}):\n{lines}\nreplace "
                            "or remove them and rerun the same command: only they are scored again")
    return summary


def score_folder(folder: str | Path, settings: ScoreSettings, backbones: vbench.Backbones, *,
                 out: str | Path | None = None, prompts: dict[str, str] | None = None,
                 reward: Callable | None = None, overwrite: bool = False, shard: Shard | None = None,
                 progress: Callable[[str], None] = logger.info) -> dict | None:
    """Score this rank's videos of ``folder``, then (rank 0, once every rank is done) merge them.

    Returns the summary on rank 0 (also written with the table), None on the other ranks. Raises
    :class:`VideosSkipped` on rank 0, once everything is written, when some videos could not be decoded.
    """
    shard = shard or Shard()
    with process_group(shard):
        plan = plan_scoring(folder, settings, backbones, out=out, overwrite=overwrite)
        check_prompts(plan.folder, plan.keys, prompts)  # every rank fails alike, before any work
        made = score_items(plan, settings, backbones, shard, prompts=prompts, reward=reward, progress=progress)
        logger.info("rank %d scored %d videos", shard.rank, made)
        wait_for_all_ranks()
        if not shard.is_main:
            return None
        try:
            return merge_results(plan, settings.dimensions)
        except VideosSkipped:  # the caller prints the table on success only; the others' scores count too
            progress((plan.out / TABLE_FILE).read_text())
            raise


def _vbench_units(name: str, score: vbench.DimensionScore) -> float | bool:
    """A per-video value as VBench writes it: imaging on 0..100, dynamic degree as a bool for one clip (in
    VBench-Long mode the share of its clips that move, which the folder's aggregate averages)."""
    if name == "imaging_quality":
        return score.value * vbench.IMAGING_SCALE
    return bool(score.value) if name == "dynamic_degree" and not score.clips else score.value


def write_vbench_layout(out: Path, folder: Path, videos: dict[str, dict], dimensions: Sequence[str]) -> None:
    """VBench's files next to ours: ``prompts.json`` ({video path: prompt}, for its ``--prompt_file``)
    and ``<row>_eval_results.json`` ({dim: [aggregate, [{video_path, video_results}]]}) per row (a row
    ``b2/none`` in a sub-folder ``b2``, as its videos are)."""
    atomic_write_json(out / PROMPTS_FILE, {str(folder / k): r["prompt"] for k, r in sorted(videos.items())})
    groups: dict[str, dict[str, dict]] = {}
    for key, record in sorted(videos.items()):
        groups.setdefault(group_of(key), {})[key] = record
    written = set()
    for group, records in groups.items() if dimensions else ():  # the reward alone: VBench has nothing to read
        results = {}
        for name in dimensions:
            scores = {k: vbench.DimensionScore(**r["scores"][name]) for k, r in records.items()}
            per_video = [{"video_path": str(folder / k), "video_results": _vbench_units(name, s)}
                         for k, s in scores.items()]
            results[name] = [vbench.aggregate(list(scores.values())), per_video]
        path = out / f"{'videos' if group == TOP_LEVEL else group}{EVAL_RESULTS_SUFFIX}"
        atomic_write_json(path, results)
        written.add(path)
    for path in out.rglob(f"*{EVAL_RESULTS_SUFFIX}"):  # rows of an earlier run that these videos no longer make
        if path not in written and not {RECORDS_DIR, SKIPPED_DIR} & set(path.relative_to(out).parts):
            path.unlink()


def group_of(key: str) -> str:
    """The row of a video: the folder holding it, relative to the scored folder (``.`` directly in it).
    Not the first sub-folder: an ``evaluate --workers`` folder keeps every method under ``parts/``."""
    return PurePosixPath(key).parent.as_posix()


def summarise(videos: dict[str, dict], dimensions: Sequence[str]) -> dict[str, dict]:
    """Per row (:func:`group_of`): VBench's aggregate and the per-video mean with its 95 % interval."""
    groups: dict[str, list[dict]] = {}
    for key, record in sorted(videos.items()):
        groups.setdefault(group_of(key), []).append(record)
    summary = {}
    for group, records in groups.items():
        row: dict = {"videos": len(records)}
        for name in dimensions:
            scores = [vbench.DimensionScore(**r["scores"][name]) for r in records]
            est = mean_ci([s.value for s in scores])
            row[name] = {"vbench": vbench.aggregate(scores), "mean": est.mean, "ci95": _finite(est.half_width)}
        for part in sorted({p for r in records for p in r["reward"]}):
            est = mean_ci([r["reward"][part] for r in records if part in r["reward"]])
            row[f"reward_{part}"] = {"mean": est.mean, "ci95": _finite(est.half_width)}
        summary[group] = row
    return summary


def markdown_table(summary: dict[str, dict], dimensions: Sequence[str]) -> str:
    """A row per folder of videos; VBench aggregates in percent, reward parts as mean ± 95 % interval."""
    rewards = sorted({k for row in summary.values() for k in row if k.startswith("reward_")})
    header = ["Folder", *[d.replace("_", " ") for d in dimensions], *rewards, "videos"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group, row in summary.items():
        cells = [f"{100 * row[d]['vbench']:.2f}" for d in dimensions]
        cells += [_mean_cell(row.get(r)) for r in rewards]
        lines.append("| " + " | ".join([group, *cells, str(row["videos"])]) + " |")
    return "\n".join(lines) + "\n"


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value  # one video has no interval; JSON has no NaN


def _mean_cell(value: dict | None) -> str:
    if value is None:
        return "-"
    if value["ci95"] is None:
        return f"{value['mean']:.3f}"
    return f"{value['mean']:.3f} ± {value['ci95']:.3f}"
