"""Prompt schedules: a video whose prompt changes at given latent frames (LongLive's interactive mode).

A :class:`PromptSchedule` is a list of segments ``(prompt, from_frame)``; segment ``i`` is active from
latent frame ``from_frame`` until the next segment starts. A single prompt is the one-segment case.
Three ways to write one:

* command line: ``--prompt "a" --prompt "b" --switch-at 40`` (:func:`from_switches`);
* LongLive's JSONL, one stream per line: ``{"prompts": ["a", "b"], "switch_frame_indices": [40]}``
  (the indices may also be one int or a comma string, as in LongLive's YAML, or come from
  ``--switch-at`` for every line) (:func:`read_jsonl`);
* a YAML list ``[{prompt: a, from_frame: 0}, {prompt: b, from_frame: 40}]`` (:func:`read_yaml_schedule`).

Switch frames are latent frames, as LongLive's ``switch_frame_indices``. :meth:`PromptSchedule.validate`
checks a schedule against the video length and the chunk size; every rule breach is a
:class:`~streamt1.config.ConfigError` naming the rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from streamt1.config import ConfigError, load_yaml_file
from streamt1.outputs.progress import shorten
from streamt1.suggest import unknown_keys


@dataclass(frozen=True)
class Segment:
    prompt: str
    from_frame: int  # first latent frame generated under this prompt


@dataclass(frozen=True)
class PromptSchedule:
    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        if not self.segments:
            raise ConfigError("a prompt schedule needs at least one prompt")
        for i, segment in enumerate(self.segments):
            if not isinstance(segment.prompt, str) or not segment.prompt.strip():
                which = "" if len(self.segments) == 1 else f" {i + 1} of {len(self.segments)}"
                raise ConfigError(f"prompt{which} is empty: give the text of the video to generate")
        if self.segments[0].from_frame != 0:
            raise ConfigError(f"the first prompt must start at frame 0, not {self.segments[0].from_frame}")
        starts = [s.from_frame for s in self.segments]
        if len(starts) > 1 and starts[1] <= 0:  # the first prompt holds frame 0
            raise ConfigError(f"switch frame {starts[1]} is invalid: the first prompt starts at frame 0, so the "
                              "second must start at a later frame (a multiple of the chunk)")
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ConfigError(f"switch frames {starts[1:]} are not increasing: each prompt must start "
                              "after the previous one")

    @classmethod
    def single(cls, prompt: str) -> PromptSchedule:
        return cls((Segment(prompt, 0),))

    @property
    def prompts(self) -> list[str]:
        return [s.prompt for s in self.segments]

    @property
    def switch_frames(self) -> list[int]:
        """Latent frames where the prompt changes (LongLive's ``switch_frame_indices``)."""
        return [s.from_frame for s in self.segments[1:]]

    def segment_at(self, frame: int) -> int:
        """Index of the segment active at latent frame ``frame``."""
        return sum(1 for s in self.segments[1:] if s.from_frame <= frame)

    def validate(self, num_frames: int, chunk_frames: int) -> None:
        """Every switch lies inside the video and on a chunk boundary (raises ConfigError)."""
        for frame in self.switch_frames:
            if frame >= num_frames:
                raise ConfigError(f"switch at latent frame {frame} is beyond the video ({num_frames} latent "
                                  f"frames): switch before frame {num_frames} or generate more frames")
            if frame % chunk_frames:
                raise ConfigError(f"switch at latent frame {frame} is not on a chunk boundary: use a multiple "
                                  f"of the chunk's {chunk_frames} latent frames")

    def text(self) -> str:
        """One line naming every segment (for logs and file names)."""
        return " then ".join(self.prompts)

    def to_list(self) -> list[dict[str, Any]]:
        return [{"prompt": s.prompt, "from_frame": s.from_frame} for s in self.segments]


def as_schedule(prompt: str | PromptSchedule | Sequence[Segment]) -> PromptSchedule:
    """A schedule from a prompt, a schedule, or a list of segments."""
    if isinstance(prompt, PromptSchedule):
        return prompt
    if isinstance(prompt, str):
        return PromptSchedule.single(prompt)
    if isinstance(prompt, (list, tuple)) and prompt and all(isinstance(s, Segment) for s in prompt):
        return PromptSchedule(tuple(prompt))
    if isinstance(prompt, (list, tuple)) and all(isinstance(s, str) for s in prompt):
        hint = ("for prompts that switch mid-video use schedule.from_switches(prompts, switch_frames); for one video "
                "per prompt call generate once per prompt")
    else:
        hint = "pass the prompt as a string"
    raise ConfigError(f"prompt {shorten(repr(prompt), 80)} is not a prompt: expected a string, a PromptSchedule or "
                      f"a list of Segment; {hint}")


def parse_switch_frames(values: Any, where: str) -> list[int]:
    """Switch frames from an int, a list of ints, or LongLive's comma string ``"40, 80"``."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [v for v in values.replace(" ", "").split(",") if v]
    elif not isinstance(values, (list, tuple)):
        values = [values]
    frames = []
    for value in values:
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            frames.append(int(value))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: switch frame {value!r} is not an integer latent frame") from None
    return frames


def from_switches(prompts: Sequence[str], switch_at: Sequence[int], where: str = "switch_at") -> PromptSchedule:
    """``prompts[i]`` from ``switch_at[i-1]`` on: needs exactly one switch frame fewer than prompts
    (``where``: what the user called the switch frames, for errors, e.g. ``--switch-at``)."""
    if len(prompts) == 1 and switch_at:
        raise ConfigError(f"{where}: one prompt has nothing to switch to at {list(switch_at)}: give a prompt for "
                          "each segment, or leave the switch frames out")
    if len(switch_at) != len(prompts) - 1:
        raise ConfigError(f"{where}: {len(prompts)} prompts need {len(prompts) - 1} switch frame(s), got "
                          f"{len(switch_at)} ({list(switch_at)}): give one switch frame between each two prompts")
    return PromptSchedule(tuple(Segment(p, f) for p, f in zip(prompts, [0, *switch_at])))


JSONL_KEYS = ("prompts", "switch_frame_indices")  # a LongLive interactive line


def read_jsonl(path: str | Path, switch_at: Sequence[int] = ()) -> list[PromptSchedule]:
    """LongLive's interactive prompts file: one ``{"prompts": [...]}`` object per line.

    ``switch_at`` (LongLive sets them once, in its config) fills the lines of several prompts without
    ``switch_frame_indices`` (a line with the key, even an empty list, keeps its own; a line of one prompt has
    nothing to switch to); given where no line takes it, it would change nothing and is refused rather than ignored.
    """
    path = _existing(path, "prompts file")
    schedules, filled = [], 0  # filled: lines that take switch_at
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{where} is not valid JSON ({err}); write one object per line such as "
                              '{"prompts": ["a small red circle moves left over a blue background", "a small red '
                              'circle moves up over a blue background"], "switch_frame_indices": [24]}') from None
        prompts = data.get("prompts") if isinstance(data, dict) else None
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts) or not prompts:
            raise ConfigError(f'{where}: needs "prompts", a non-empty list of strings')
        unknown = unknown_keys(data, JSONL_KEYS)
        if unknown:
            raise ConfigError(f"{where}: {unknown}; a line takes {', '.join(JSONL_KEYS)}")
        own = parse_switch_frames(data.get("switch_frame_indices"), where)
        fill = "switch_frame_indices" not in data and len(prompts) > 1
        filled += fill
        schedules.append(from_switches(prompts, list(switch_at) if fill else own, f"{where} switch_frame_indices"))
    if not schedules:
        raise ConfigError(f"prompts file {str(path)!r} holds no prompt")
    if switch_at and not filled:
        raise ConfigError(f"--switch-at fills the lines of several prompts without switch_frame_indices, and no line "
                          f"of {path} is one: leave --switch-at out, or switch_frame_indices out of the lines it "
                          "should fill")
    return schedules


def read_yaml_schedule(path: str | Path) -> PromptSchedule:
    """A YAML list of ``{prompt: ..., from_frame: ...}`` (``from_frame`` of the first may be left out)."""
    data = load_yaml_file(path, "schedule file")
    if not isinstance(data, list):
        raise ConfigError(f"schedule file {str(path)!r} must hold a list of {{prompt, from_frame}} entries")
    if not data:
        raise ConfigError(f"schedule file {str(path)!r} holds no prompt: add {{prompt, from_frame}} entries")
    segments = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or set(entry) - {"prompt", "from_frame"} or "prompt" not in entry:
            raise ConfigError(f"{path} entry {i}: expected {{prompt: TEXT, from_frame: LATENT_FRAME}}, "
                              f"got {entry!r}")
        if "from_frame" not in entry and i > 0:
            raise ConfigError(f"{path} entry {i}: from_frame is missing (only the first prompt may leave it out)")
        (frame,) = parse_switch_frames(entry.get("from_frame", 0), f"{path} entry {i}")
        segments.append(Segment(str(entry["prompt"]), frame))
    return PromptSchedule(tuple(segments))


def read_schedules(path: str | Path, switch_at: Sequence[int] = ()) -> list[PromptSchedule]:
    """Streams of a prompts file: ``.jsonl`` (LongLive's), ``.yaml``/``.yml`` (one schedule), ``.json`` (a
    list of prompts or VBench's ``{video: prompt}`` map), else one prompt per line (blank lines and ``#``
    comments skipped). ``switch_at`` fills JSONL lines only."""
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path, switch_at)
    if switch_at:
        raise ConfigError(f"--switch-at needs several --prompt values or a .jsonl prompts file, not {str(path)!r} "
                          "(a YAML schedule gives each prompt's from_frame itself)")
    if suffix in (".yaml", ".yml"):
        return [read_yaml_schedule(path)]
    return [PromptSchedule.single(p) for p in read_prompt_lines(path)]


def read_prompt_lines(path: str | Path) -> list[str]:
    """The prompts of a text file (one per line; blank lines and ``#`` comments skipped) or a ``.json``
    file, by the suites' rule (:func:`streamt1.suites.read_prompt_file`)."""
    from streamt1.suites import read_prompt_file

    return [prompt for prompt, _ in read_prompt_file(path)]


def where_in_file(path: str | Path | None, message: str) -> str:
    """`` (PATH: lines ...)``, the lines of a prompts file whose text ``message`` quotes (its rejected
    prompts; on a JSONL line, any of its strings), or nothing."""
    if path is None:
        return ""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    numbers = [str(n) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")
               and any(repr(text) in message for text in _line_texts(line.strip()))]
    return f" ({path}: line{'s' if len(numbers) > 1 else ''} {', '.join(numbers)})" if numbers else ""


def _line_texts(line: str) -> list[str]:
    """The line itself, and the strings of a JSON line (LongLive's {"prompts": [...]}, a bench suite's
    {"prompt": ..., "eval_prompt": ...})."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return [line]
    values = value.values() if isinstance(value, dict) else [value]
    flat = [v for item in values for v in (item if isinstance(item, list) else [item])]
    return [line, *(v for v in flat if isinstance(v, str))]


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist")
    return path
