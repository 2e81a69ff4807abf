"""Prompt suites: VBench's lists shipped as package data, the Sprites held-out prompts, or any file.

A suite is a list of :class:`PromptItem`: the text to generate from and the text the video is
named and evaluated by (they differ only for extended prompts, which VBench evaluates under the
original prompt). A prompts file is plain text (one prompt per line; blank lines and ``#``
comments skipped) or JSON Lines (``.jsonl``: a JSON string per line, or an object with
``"prompt"`` and optionally ``"eval_prompt"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from streamt1.config import ConfigError
from streamt1.suggest import did_you_mean

SPRITES_SUITE_SIZE = 32  # held-out Sprites scenes (the eval split of the Sprites world)
# name -> (file to generate from, file to name by); None = the same file
_PACKAGED = {
    "vbench": ("vbench_all_dimension.txt", None),
    "vbench-extended": ("vbench_all_dimension_longer.txt", "vbench_all_dimension.txt"),
}
SUITES = ("sprites", *_PACKAGED)


@dataclass(frozen=True)
class PromptItem:
    index: int  # position in the whole suite (before --limit), so --limit never renames a video
    prompt: str  # the text the video is generated from
    eval_prompt: str  # the text it is named and evaluated by


@dataclass(frozen=True)
class Suite:
    name: str
    items: tuple[PromptItem, ...]

    @property
    def prompts(self) -> list[str]:
        return [item.prompt for item in self.items]


def _packaged_lines(filename: str) -> list[str]:
    return resources.files("streamt1.suites").joinpath(filename).read_text(encoding="utf-8").splitlines()


def _parse_jsonl_line(line: str, where: str) -> tuple[str, str]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{where} is not valid JSON ({err.msg}): write one JSON string or "
                          'object such as {"prompt": "a small red circle moves left over a blue background"} '
                          'per line') from None
    if isinstance(value, str):
        return value, value
    if isinstance(value, dict) and isinstance(value.get("prompt"), str):
        eval_prompt = value.get("eval_prompt", value["prompt"])
        if not isinstance(eval_prompt, str):
            raise ConfigError(f"{where}: \"eval_prompt\" must be a string")
        return value["prompt"], eval_prompt
    if isinstance(value, dict) and "prompts" in value:
        raise ConfigError(f'{where} is a prompt-switch stream (LongLive\'s "prompts" list), which is one video of '
                          "several prompts: run such files with `streamt1 generate --prompts-file`; a bench suite "
                          'holds one prompt a line, as a JSON string or {"prompt": ...}')
    raise ConfigError(f'{where} must be a JSON string or an object with a "prompt" string')


def read_prompt_file(path: str | Path) -> list[tuple[str, str]]:
    """(prompt, eval_prompt) pairs of a text, JSONL or JSON file; a clear error if missing, unreadable or empty."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"prompts file {str(path)!r} {what}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors) is not a prompt's
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"prompts file {str(path)!r} cannot be read as UTF-8 text ({err})") from None
    if path.suffix.lower() == ".json":
        return _json_prompts(text, path)
    lines = text.splitlines()
    jsonl = path.suffix.lower() == ".jsonl"
    pairs = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pair = _parse_jsonl_line(line, f"{path}:{number}") if jsonl else (line, line)
        if not pair[0].strip():
            raise ConfigError(f"{path}:{number} holds an empty prompt")
        pairs.append((pair[0].strip(), pair[1].strip() or pair[0].strip()))
    if not pairs:
        raise ConfigError(f"prompts file {str(path)!r} holds no prompt: write one prompt per line")
    return pairs


def _json_prompts(text: str, path: Path) -> list[tuple[str, str]]:
    """A ``.json`` prompts file: a list of prompts (as a .txt's lines, repeats kept), or VBench's ``{video:
    prompt}`` map (the ``prompt_file.json`` that generate and bench write), each prompt once, in the file's order."""
    form = ('a JSON list of prompts, or VBench\'s {"video.mp4": "prompt"} map (the prompt_file.json that '
            "`streamt1 generate` writes)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"prompts file {str(path)!r} is not valid JSON ({err.msg}, line {err.lineno}): "
                          f"a .json prompts file holds {form}; for one prompt per line name it .txt") from None
    prompts = list(data.values()) if isinstance(data, dict) else data
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise ConfigError(f"prompts file {str(path)!r} must hold {form}")
    prompts = [p.strip() for p in prompts]
    if isinstance(data, dict):  # a map repeats a prompt once per seed; a list's repeats are the user's, as a .txt's
        _refuse_switched_streams(data, path)
        prompts = list(dict.fromkeys(prompts))
    if not prompts or "" in prompts:
        raise ConfigError(f"prompts file {str(path)!r} holds {'an empty' if prompts else 'no'} prompt: it must "
                          f"hold {form}, each a non-empty string")
    return [(p, p) for p in prompts]


def _refuse_switched_streams(videos: dict, path: Path) -> None:
    """A folder's map lists a prompt-switch stream by its joined text, which would read back as one prompt:
    refused, naming the stream, where the video's record beside the map holds several segments."""
    for video in videos:
        record = path.parent / f"{Path(str(video)).stem}.result.json"
        try:
            segments = json.loads(record.read_text()).get("segments", []) if record.is_file() else []
        except (OSError, ValueError, AttributeError):
            continue  # an unreadable record is the folder's problem, reported where it is read
        if len(segments) > 1:
            raise ConfigError(f"{path} lists {video}, a stream that switches prompts, by its joined text, which "
                              "would read back as one prompt: rerun switch streams from their .jsonl or YAML "
                              "prompts file, or --prompt ... --switch-at")


def _suite_pairs(name: str, num_frames: int) -> list[tuple[str, str]]:
    if name == "sprites":
        from streamt1.evaluate import eval_prompts  # the same held-out prompts as `streamt1 evaluate`

        return [(p, p) for p in eval_prompts(SPRITES_SUITE_SIZE, num_frames)]
    if name in _PACKAGED:
        generate_file, name_file = _PACKAGED[name]
        prompts = _packaged_lines(generate_file)
        names = _packaged_lines(name_file) if name_file else prompts
        return list(zip(prompts, names, strict=True))
    if Path(name).suffix.lower() in (".yaml", ".yml"):
        raise ConfigError(f"--suite {name}: a YAML file is bench settings (pass it as --config) or a prompt schedule "
                          "(`streamt1 generate --prompts-file`); a suite is sprites, vbench, vbench-extended or a "
                          ".txt / .jsonl / .json prompts file")
    if Path(name).suffix.lower() in (".txt", ".jsonl", ".json") or Path(name).exists():
        return read_prompt_file(name)
    raise ConfigError(f"unknown suite {name!r}{did_you_mean(name, SUITES)}: expected one of {', '.join(SUITES)} "
                      "or the path of a .txt / .jsonl / .json prompts file")


def load_suite(name: str, limit: int | None = None, num_frames: int = 48) -> Suite:
    """The first ``limit`` prompts (all if None) of a named suite or a prompts file.

    ``num_frames`` (latent frames) only matters for ``sprites``, whose scenes are timed to the video.
    """
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit={limit} is invalid: expected an integer >= 1 (or leave it out for all prompts)")
    pairs = _suite_pairs(name, num_frames)
    return Suite(name=name, items=tuple(PromptItem(i, p, e) for i, (p, e) in enumerate(pairs[:limit])))
