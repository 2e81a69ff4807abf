"""Output file names that never collide: VBench's ``<prompt>-<i>`` where it is safe, a hash otherwise.

VBench (standard mode) finds videos as ``<prompt>-<i>.mp4``, so a prompt that makes a safe file
name is used verbatim. Everything else gets ``<slug>-<hash8>`` (``<index>-<slug>-<hash8>`` for a
repeat): prompts too long for the 255-byte name limit (MovieGen has prompts of 700 characters),
with a ``/`` or other characters file systems reject, non-ASCII text, and prompts that differ
from an earlier one only by case (the same file on macOS and Windows). Hashed names always end in
``-`` and 8 or more hex digits, which a verbatim name may not, so the two kinds never meet; the prompt
itself is kept in the folder's ``prompt_file.json`` (VBench's custom-input ``--prompt_file``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Sequence

from streamt1.config import ConfigError

# Longest verbatim prompt: the longest derived name, the atomic writer's temp file
# ".<prompt>-<i>.rewards.<8 random>.tmp.png" (prompt + 31 bytes for i < 10000), must stay under the
# 255-byte limit of common file systems.
MAX_VERBATIM_BYTES = 220  # VBench's longest prompt has 210
_UNSAFE_CHARS = set('/\\:*?"<>|')  # rejected by POSIX (/) or Windows (the rest)
_HASHED_TAIL = re.compile(r"-[0-9a-f]{8,}$")
_SLUG_CHARS = 48


def is_verbatim_safe(prompt: str) -> bool:
    """True when ``prompt`` can be a file name as it is (printable ASCII, short, no reserved chars)."""
    return (
        0 < len(prompt) <= MAX_VERBATIM_BYTES
        and all(" " <= ch <= "~" and ch not in _UNSAFE_CHARS for ch in prompt)
        and prompt == prompt.strip()
        and not prompt.startswith((".", "-"))  # hidden files, command-line flags
        and not _HASHED_TAIL.search(prompt)
    )


def prompt_hash(prompt: str, length: int = 8) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:length]


def slug(prompt: str) -> str:
    """Readable ASCII words of ``prompt`` (accents folded), at most ~48 characters; may be empty."""
    folded = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-")
    return words[:_SLUG_CHARS].rstrip("-")


def hashed_name(prompt: str, index: int | None = None, length: int = 8) -> str:
    """``<slug>-<hash>``, with ``<index>-`` in front for a repeated prompt."""
    parts = [f"{index:05d}"] if index is not None else []
    parts += [s for s in (slug(prompt),) if s] + [prompt_hash(prompt, length)]
    return "-".join(parts)


def prompt_name(prompt: str) -> str:
    """The name of one prompt on its own: the prompt itself if safe, else its hashed name."""
    return prompt if is_verbatim_safe(prompt) else hashed_name(prompt)


def prompt_names(prompts: Sequence[str]) -> list[str]:
    """One distinct name per prompt of a list; a name depends only on the prompts before it.

    A repeat of an earlier prompt (or one equal up to case) gets ``<index>-<slug>-<hash>``, the
    index being its position in the list, so repeats stay distinct and stable under ``--limit``.
    """
    names: list[str] = []
    taken: set[str] = set()
    for index, prompt in enumerate(prompts):
        name = prompt_name(prompt)
        if name.casefold() in taken:
            name = hashed_name(prompt, index)
        length = 8
        while name.casefold() in taken:  # a 32-bit hash collision: lengthen the hash
            length += 4
            name = hashed_name(prompt, index, length)
        taken.add(name.casefold())
        names.append(name)
    return names


def video_stem(name: str, seed: int) -> str:
    """VBench's ``<prompt>-<i>``: the sample's seed is its index."""
    return f"{name}-{seed}"


def check_stem(stem: str) -> str:
    """``stem`` if it names files inside a folder (not empty, no path separator, not hidden), else a
    ConfigError: what writes a video's files checks the name it was given."""
    if not isinstance(stem, str) or not stem or stem.startswith(".") or any(c in stem for c in "/\\\0"):
        raise ConfigError(f"stem {stem!r} cannot name a video's files: give a non-empty name without /, \\ or a "
                          "leading dot (api.output_stem(prompt, seed) makes one from the prompt)")
    return stem


def output_paths(out_dir: str | Path, stem: str) -> dict[str, Path]:
    """The files of one video: the MP4, its search trace and its two plots (the one place they are named)."""
    out = Path(out_dir)
    return {
        "video": out / f"{stem}.mp4",
        "trace": out / f"{stem}.trace.json",
        "tree": out / f"{stem}.tree.png",
        "rewards": out / f"{stem}.rewards.png",
    }
