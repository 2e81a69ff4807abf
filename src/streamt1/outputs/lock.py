"""Who may write an output folder.

* One process at a time (:func:`folder_lock`): two processes that read, extend and rewrite the same
  ``results.json`` would each drop the other's videos, without an error.
* One command (:func:`claim_owner`): ``generate``, ``bench`` and ``evaluate`` name their files alike but each
  resumes from its own records, so one would replace videos that the other's records still vouch for.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from streamt1.config import ConfigError
from streamt1.outputs.atomic import atomic_write_text

LOCK_FILE = ".streamt1.lock"
OWNER_FILE = ".streamt1-command"  # the command whose videos a folder holds (check_owner)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


@contextmanager
def folder_lock(folder: str | os.PathLike[str], what: str, instead: str, owner: str | None = None) -> Iterator[None]:
    """Hold ``folder``'s lock while the block runs; a live holder stops this run with a ConfigError naming its
    process, ``what`` it is and ``instead`` (what to do). A lock left by a process that died is taken over.
    ``owner``: the command that writes the folder (:func:`claim_owner`, once the lock is held)."""
    folder = Path(folder)
    if owner is not None:
        check_owner(folder, owner)
    made = not folder.exists()  # a run refused before it wrote anything leaves no empty folder behind
    marked = (folder / OWNER_FILE).is_file()
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
        if owner is not None:
            claim_owner(folder, owner)
        yield
    finally:
        path.unlink(missing_ok=True)
        if not marked and {p.name for p in folder.iterdir()} <= {OWNER_FILE}:  # refused before it wrote anything
            (folder / OWNER_FILE).unlink(missing_ok=True)
            if made:
                folder.rmdir()


def check_owner(folder: str | Path, command: str) -> None:
    """A ConfigError if ``folder`` holds the videos of another command (``generate``, ``bench`` or ``evaluate``,
    as :func:`claim_owner` marked it; bench and evaluate mark each method folder too). Reads only; folders from
    before the marks are not recognised."""
    mark = Path(folder).resolve() / OWNER_FILE  # a link to another command's folder is that folder
    owner = mark.read_text(encoding="utf-8", errors="replace").strip() if mark.is_file() else command
    if owner != command:
        raise ConfigError(f"{mark.parent} holds the videos of `streamt1 {owner}`; `streamt1 {command}` names its "
                          "files alike and would replace them: pass another --out")


def claim_owner(folder: str | Path, command: str) -> None:
    """Mark ``folder`` as holding ``command``'s videos, after :func:`check_owner`."""
    check_owner(folder, command)
    mark = Path(folder).resolve() / OWNER_FILE
    if not mark.is_file():
        atomic_write_text(mark, f"{command}\n")
