"""One progress line per finished video: the count, the time per video and the time left."""

from __future__ import annotations

import time


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 prompt``, ``2 prompts``: a count with its words in the right number (``plural``: where it is
    not a plain -s, e.g. ``counted(n, "prompt repeats", "prompts repeat")``)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def shorten(text: str, width: int = 60) -> str:
    """``text`` cut to at most ``width`` characters at a word boundary, with ``...`` where it was cut."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    if width < 4:  # no room for a word and the dots
        return text[:width]
    cut = text[: width - 3]
    if text[width - 3] != " " and " " in cut:  # the cut is inside a word: drop that word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" .") + "..."


class ProgressLine:
    """``[3/40] <label> (2.1 s) - 2.3 s/video, ~1m25s left``, ``total`` being the items to make (those kept
    from an earlier run are no work, so the caller leaves them out)."""

    def __init__(self, total: int, clock=time.monotonic) -> None:
        self.total, self.clock = total, clock
        self.done = 0
        self.start = clock()

    def finish(self, label: str, seconds: float) -> str:
        self.done += 1
        per_video = (self.clock() - self.start) / self.done
        left = per_video * (self.total - self.done)
        return (f"[{self.done}/{self.total}] {label} ({seconds:.1f} s) - "
                f"{per_video:.1f} s/video, ~{format_duration(left)} left")
