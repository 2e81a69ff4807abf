"""Atomic file writes: a reader sees either the old file or the complete new one, never a torn one.

Everything is first written to a hidden temp file in the destination's folder (same file system, so
``os.replace`` is atomic), flushed and fsynced, then renamed over the destination. On any error the
temp file is removed and the destination is left as it was.

Two entry points share that one mechanism:

* :func:`atomic_path` yields the temp *path*, for writers that want a file name (PyAV, which
  re-opens the file to move the MP4 index to the front).
* :func:`atomic_write` yields an open file object, for everything else; ``atomic_write_bytes``,
  ``atomic_write_text`` and ``atomic_write_json`` are one-line conveniences on top of it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

logger = logging.getLogger(__name__)

_WRITE_MODES = ("w", "wb", "wt")


def _current_umask() -> int:
    # The only portable way to read the umask is to set it and put it back; done once at import.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()  # what a plain open() would have given the new file


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # e.g. some network file systems refuse fsync on folders; the data is already synced
    finally:
        os.close(fd)


def ensure_folder(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` and its parents; a file in the way raises one NotADirectoryError naming it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        where = "" if blocker == folder else f"cannot write into {folder}: "
        raise NotADirectoryError(f"{where}{blocker} is a file, not a folder") from None
    except FileNotFoundError as err:  # its parent exists: a file system that takes no new folders (/proc, /sys)
        raise FileNotFoundError(f"cannot create the folder {folder} ({err.strerror}): pass a folder on a "
                                "file system that takes new files, e.g. another --out") from None
    return folder


def check_writable_folder(folder: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``folder`` if it is, or can be created as, a folder this process may write into; else one
    ConfigError naming it and ``flag``. Creates nothing, so a run that stops later on other bad input
    leaves no folder behind; called before any model loads, so a run never loses its work at the save."""
    # the CLI's one-line, exit-code-2 error; imported here, so that this module imports no torch
    from streamt1.config import ConfigError

    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists())  # "." or "/" at the latest
    where = f"output folder {folder}" + ("" if existing == folder else f" cannot be created: {existing}")
    if not existing.is_dir():
        raise ConfigError(f"{where} is a file, not a folder; pass another {flag}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{where} is not writable (permissions, or a read-only file system); pass a folder "
                          f"you can write to as {flag}, or make {existing} writable")
    return folder


def _prepare_destination(path: str | os.PathLike[str]) -> Path:
    dest = Path(path)
    if dest.is_dir():
        raise IsADirectoryError(f"cannot write {dest}: it is a directory; pass a file path")
    ensure_folder(dest.parent)
    return dest


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path next to ``path``; on success it is fsynced and renamed onto ``path``.

    The temp name keeps the destination's suffix (``.video.x1y2.tmp.mp4``) so writers that pick a
    format from the extension still work. Parent folders are created if missing.
    """
    dest = _prepare_destination(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".tmp{dest.suffix}", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.is_file():
            raise FileNotFoundError(f"the writer for {dest} did not leave a file at {tmp}")
        with open(tmp, "rb+") as f:  # the writer may not have synced; make the data durable first
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)
    logger.debug("wrote %s", dest)


@contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", *, encoding: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temp file for writing; it replaces ``path`` only if the ``with`` block succeeds.

    mode: ``"wb"`` (bytes) or ``"w"`` / ``"wt"`` (text; ``encoding`` defaults to UTF-8).
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f"atomic_write mode={mode!r} is not supported; use one of {_WRITE_MODES}")
    if "b" in mode and encoding is not None:
        raise ValueError(f"atomic_write got encoding={encoding!r} with binary mode={mode!r}; drop one")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp:  # atomic_path fsyncs after the file is closed
        with open(tmp, mode, encoding=encoding) as f:
            yield f


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path, "w", encoding=encoding) as f:
        f.write(text)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2) -> None:
    """Serialise ``obj`` as strict JSON (no NaN / Infinity) and write it to ``path`` atomically.

    Serialisation happens before the file is opened, so an unserialisable object never touches disk.
    """
    try:
        text = json.dumps(obj, indent=indent, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot write {path} as JSON: {err}") from err
    atomic_write_text(path, text + "\n")
