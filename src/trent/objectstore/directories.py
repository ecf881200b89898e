"""Durable names for the file stores (``blob_file.py``, ``file.py``; issue 17).

fsync on a file makes its bytes durable, not the directory entry naming it: after a
power loss a file renamed into place (or a directory just made) can be gone although
the rename returned, and a committed object row then names a blob that is not there.
The directory that gained the entry has to be fsynced as well.
"""

from __future__ import annotations

import os
from pathlib import Path

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def fsync_directory(directory: str | Path) -> None:
    """Make the entries of ``directory`` (a rename into it, a file or directory made in
    it) durable."""
    fd = os.open(directory, _DIRECTORY_FLAGS)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_directories(directory: Path, *, durable: bool) -> None:
    """``mkdir -p directory``; when ``durable``, every directory that gained an entry (the
    parent of each directory made here) is fsynced before this returns. A directory a
    racing writer made is left to that writer's fsync: a put that merely found it there
    can finish before that fsync does (a window of one fsync, once per new directory)."""
    made: list[Path] = []
    at = directory
    while not at.is_dir():  # ends at the root at the latest; a file in the way stops mkdir below
        made.append(at)
        at = at.parent
    if not made:
        return
    directory.mkdir(parents=True, exist_ok=True)
    if durable:
        for path in made:  # deepest first: each new entry before the one leading to it
            fsync_directory(path.parent)
