"""Suggestions for a mistyped name in an error message."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the choice closest to ``given``, or ``""`` when none is close."""
    close = difflib.get_close_matches(given, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_keys(given: Iterable[str], known: Iterable[str]) -> str:
    """``"unknown key(s) a, b (did you mean c?)"`` for the keys of ``given`` not in ``known`` ("" if none)."""
    known = list(known)
    unknown = sorted(set(given) - set(known))
    return f"unknown key(s) {', '.join(unknown)}" + "".join(did_you_mean(k, known) for k in unknown) if unknown else ""
