"""One writer per results folder: two processes that read, extend and rewrite the same ``results.json``
would each drop the other's videos, without an error."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from streamt1.config import ConfigError

LOCK_FILE = ".streamt1.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


@contextmanager
def folder_lock(folder: str | os.PathLike[str], what: str, instead: str) -> Iterator[None]:
    """Hold ``folder``'s lock while the block runs; a live holder stops this run with a ConfigError naming its
    process, ``what`` it is and ``instead`` (what to do). A lock left by a process that died is taken over."""
    folder = Path(folder)
    made = not folder.exists()  # a run refused before it wrote anything leaves no empty folder behind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = int(path.read_text().strip() or "0")
            except (OSError, ValueError):
                holder = 0
            if holder and holder != os.getpid() and _alive(holder):
                raise ConfigError(f"{folder} is being written by another {what} (process {holder}); wait for it to "
                                  f"finish, or {instead}") from None
            path.unlink(missing_ok=True)  # its process is gone: the lock is stale
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        if made and not any(folder.iterdir()):
            folder.rmdir()
