"""Run folders that remember their settings: per-video result records, resume and the VBench prompt file.

Every finished video gets ``<stem>.result.json``, written last (after the video, trace and plots),
holding the settings fingerprint. A video counts as done only when that record exists with the
current fingerprint and its video is on disk, so a half-written item is redone and an item made
with other settings is never taken for done. A folder may also be claimed as a whole
(``settings.json``): a rerun with other settings then stops before any work, naming what differs.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import streamt1
from streamt1.config import Config, ConfigError, RunConfig
from streamt1.outputs.atomic import atomic_write_json
from streamt1.outputs.fingerprint import canonical, fingerprint
from streamt1.outputs.naming import output_paths

logger = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
PROMPT_FILE = "prompt_file.json"  # VBench custom input: vbench evaluate --prompt_file <this>
RESULT_SUFFIX = ".result.json"
# Run settings that never change a video: where it goes, how it is shown, which device runs it.
_NOT_SETTINGS = ("seed", "out", "progress", "device")
# Reward settings that only place the weights, never change a score.
_REWARD_PLACEMENT = ("device", "offload")
# Settings that bound memory, not what is computed (candidates per forward, frames per reward forward): the advice
# after running out of GPU memory is to lower them, and the finished videos must still resume. They stay in the
# fingerprint, which older folders were written with; made_alike lets them differ.
MEMORY_BOUNDS = ("search.max_batch", "rewards.max_batch")


def without_memory_bounds(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` (a Config as a dict) without the :data:`MEMORY_BOUNDS`, for settings compared by fingerprint."""
    kept = dict(config)
    for key in MEMORY_BOUNDS:
        section, _, name = key.partition(".")
        if isinstance(kept.get(section), Mapping):
            kept[section] = {k: v for k, v in kept[section].items() if k != name}
    return kept


def run_settings(config: Config, dtype: str, rewards: Mapping[str, str | None]) -> dict[str, Any]:
    """What decides the videos: method and search config, backend, weights, frames, resolved dtype,
    the rewards the method calls (name and folder as asked, the class loaded; ``rewards`` holds None for
    a kind it does not call, whose naming then changes nothing) and code version (the seed is part of
    each video's name instead)."""
    data = config.to_dict()
    data["run"] = {k: v for k, v in data["run"].items() if k not in _NOT_SETTINGS}
    data["run"]["dtype"] = dtype
    data["rewards"] = {k: v for k, v in data["rewards"].items() if k not in _REWARD_PLACEMENT}
    for kind, loaded in rewards.items():
        if loaded is None:
            data["rewards"][kind] = None
    data["rewards"]["loaded"] = dict(rewards)
    data["code_version"] = streamt1.__version__
    return canonical(data)


_UNCALLED_REWARD_KEYS = ("rewards.{kind}", "rewards.loaded.{kind}")


def with_later_run_keys(run: Mapping[str, Any]) -> dict[str, Any]:
    """``run`` settings as recorded, plus every run key with the default None (the model's own) that they
    lack: a folder written before such a key existed was made as null makes it now."""
    unset = {f.name: None for f in dataclasses.fields(RunConfig) if f.default is None}
    return {**unset, **run}


def made_alike(recorded_fingerprint: str | None, recorded: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
    """Whether videos recorded with ``recorded`` settings are what ``settings`` make: the same fingerprint,
    or settings that differ only in a reward kind ``settings`` does not call (folders written before the
    settings named only the rewards a method calls listed every reward loaded beside it, or one named
    for it in vain)."""
    if recorded_fingerprint == fingerprint(settings):
        return True
    if isinstance(recorded.get("run"), Mapping):
        recorded = {**recorded, "run": with_later_run_keys(recorded["run"])}
    a, b = _flatten(recorded), _flatten(settings)
    differing = {k for k in set(a) | set(b) if a.get(k, "<unset>") != b.get(k, "<unset>")}
    uncalled = {key.format(kind=kind) for kind in ("image", "video") if b.get(f"rewards.loaded.{kind}", "") is None
                for key in _UNCALLED_REWARD_KEYS}
    return bool(differing) and differing <= uncalled | set(MEMORY_BOUNDS)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, Mapping):
        return {prefix.rstrip("."): data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(_flatten(value, f"{prefix}{key}."))
    return flat


def settings_diff(old: Mapping[str, Any], new: Mapping[str, Any], limit: int = 4) -> str:
    """``"run.num_frames 48 -> 6, method 'none' -> 'beam'"``: the first ``limit`` differing keys."""
    a, b = _flatten(old), _flatten(new)
    keys = sorted(k for k in set(a) | set(b) if a.get(k, "<unset>") != b.get(k, "<unset>"))
    shown = [f"{k} {a.get(k, '<unset>')!r} -> {b.get(k, '<unset>')!r}" for k in keys[:limit]]
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(shown) + more or "unknown differences"


def claim_folder(folder: str | Path, settings: Mapping[str, Any]) -> str:
    """Record ``settings`` in ``folder/settings.json``, or check they match what is recorded there.

    Returns the fingerprint. Raises ConfigError if the folder (or a folder below it) holds finished
    videos made with other settings; a folder without finished videos is simply re-claimed.
    """
    folder = Path(folder)
    current = fingerprint(settings)
    path = folder / SETTINGS_FILE
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            stored_fingerprint, stored_settings = stored["fingerprint"], stored["settings"]
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            raise ConfigError(f"{path} is corrupt: delete it only if every video in {folder} "
                              "was made with the current settings") from None
        if stored_fingerprint == current:
            return current
        if not made_alike(stored_fingerprint, stored_settings, settings) and \
                next(folder.rglob(f"*{RESULT_SUFFIX}"), None) is not None:
            raise ConfigError(f"{folder} holds videos made with other settings "
                              f"({settings_diff(stored_settings, settings)}): use another --out, "
                              "or --overwrite to make its videos again")
    atomic_write_json(path, {"fingerprint": current, "settings": dict(settings)})
    return current


def stored_json(path: str | Path) -> Path | None:
    """``path`` if it is a file, else its gzip-compressed copy ``<path>.gz`` if there is one, else None.

    The committed benchmark logs keep older ``results.json`` files compressed, so the repository stays small
    enough to travel to a GPU machine; the package reads results through here and :func:`read_json`.
    """
    path = Path(path)
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def read_json(path: str | Path, fix: str) -> Any:
    """A JSON file (or its ``<path>.gz``, see :func:`stored_json`), or a :class:`ConfigError` naming it, what is
    wrong and ``fix`` (how to go on)."""
    path = stored_json(path) or Path(path)
    try:
        raw = path.read_bytes()
        return json.loads((gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, gzip.BadGzipFile, EOFError) as err:
        raise ConfigError(f"{path} is not valid JSON ({err}); {fix}") from None


def _video_of(folder: str | Path, stem: str, record: Mapping[str, Any]) -> Path:
    """The video a record names (bench records name theirs), else the stem's."""
    return Path(folder) / record["video"] if "video" in record else output_paths(folder, stem)["video"]


def result_path(folder: str | Path, stem: str) -> Path:
    return Path(folder) / f"{stem}{RESULT_SUFFIX}"


def read_result(folder: str | Path, stem: str) -> dict[str, Any] | None:
    """The record of a finished video, or None if there is none (or only a torn / unreadable one)."""
    path = result_path(folder, stem)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        logger.warning("%s is unreadable; its video will be made again", path)
        return None
    return record if isinstance(record, dict) else None


def is_done(folder: str | Path, stem: str, settings: Mapping[str, Any], prompt: str | None = None) -> bool:
    """True if the video was finished with these ``settings`` (compared by fingerprint) and, where ``prompt`` is
    given, from that prompt (a bench suite names a video by its evaluation text, which may outlive a change of
    the text it was generated from: then it is made again).

    Raises ConfigError for a video finished with other settings, so it is neither skipped nor lost.
    """
    record = read_result(folder, stem)
    video = None if record is None else _video_of(folder, stem, record)
    if video is None or not video.is_file() or video.stat().st_size == 0:  # emptied by a full disk or by hand
        return False
    if prompt is not None and record.get("prompt") != prompt:
        return False
    if not made_alike(record.get("fingerprint"), record.get("settings", {}), settings):
        raise ConfigError(f"{Path(folder) / record.get('video', stem)} was made with other settings "
                          f"({settings_diff(record.get('settings', {}), settings)}): "
                          "use another --out, or --overwrite to replace it")
    return True


def withdraw_result(folder: str | Path, stem: str) -> None:
    """Remove the record before its files are replaced: a run stopped half-way through writing them then
    leaves an unfinished video, never a new file vouched for by the old record."""
    result_path(folder, stem).unlink(missing_ok=True)


@contextmanager
def whole_or_none(folder: str | Path, stem: str) -> Iterator[None]:
    """Writing one video's files and then its record: a stop (Ctrl-C, SIGTERM) or an error before the record is
    written removes the files written so far, so no video without a record is left for ``streamt1 score``
    (which reads every .mp4) to take for a finished one."""
    try:
        yield
    except BaseException:
        for path in output_paths(folder, stem).values():
            path.unlink(missing_ok=True)
        raise


def write_result(folder: str | Path, stem: str, record: Mapping[str, Any]) -> Path:
    """Write the record last: from now on the video counts as finished."""
    path = result_path(folder, stem)
    atomic_write_json(path, dict(record))
    return path


def finished_results(folder: str | Path) -> dict[str, dict[str, Any]]:
    """stem -> record of every finished video in ``folder`` (records whose video is on disk)."""
    folder = Path(folder)
    records = {}
    for path in sorted(folder.glob(f"*{RESULT_SUFFIX}")):
        stem = path.name[: -len(RESULT_SUFFIX)]
        record = read_result(folder, stem)
        if record is not None and _video_of(folder, stem, record).is_file():
            records[stem] = record
    return records


def write_prompt_file(folder: str | Path, records: Mapping[str, Mapping[str, Any]]) -> Path:
    """VBench's custom-input prompt file: video file name (relative to the folder) -> prompt."""
    mapping = {r["video"]: r["eval_prompt"] for _, r in sorted(records.items())}
    path = Path(folder) / PROMPT_FILE
    atomic_write_json(path, mapping)
    return path
