"""Suggestions for a mistyped name in an error message."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the choice closest to ``given``, or ``""`` when none is close."""
    close = difflib.get_close_matches(given, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""
