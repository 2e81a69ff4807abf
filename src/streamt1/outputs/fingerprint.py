"""Settings fingerprints: a run folder remembers what made its results, so other settings never mix in.

A fingerprint is the SHA-256 of the canonical JSON of the settings (sorted keys, no whitespace), so
the same settings give the same fingerprint in every process and on every machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any


def canonical(settings: Any) -> Any:
    """``settings`` as plain JSON types: dataclasses become dicts, tuples lists, paths strings."""
    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        return {f.name: canonical(getattr(settings, f.name)) for f in dataclasses.fields(settings)}
    if isinstance(settings, dict):
        return {str(k): canonical(v) for k, v in settings.items()}
    if isinstance(settings, (list, tuple)):
        return [canonical(v) for v in settings]
    if isinstance(settings, Path):
        return str(settings)
    if settings is None or isinstance(settings, (bool, int, float, str)):
        return settings
    return str(settings)


def fingerprint(settings: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``settings`` (first 16 characters are plenty to show)."""
    text = json.dumps(canonical(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
