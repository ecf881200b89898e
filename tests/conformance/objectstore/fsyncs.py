"""Which files and directories a file store fsyncs, and in which order: ``os.fsync``
recorded by inode (a temporary file keeps its inode when renamed into place), named
afterwards by the paths under the store's root; for a directory, what it held when it
was fsynced."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


class Fsyncs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: list[tuple[tuple[int, int], tuple[str, ...] | None]] = []

    def record(self, fd: int) -> None:
        st = os.fstat(fd)
        entries = tuple(sorted(os.listdir(fd))) if stat.S_ISDIR(st.st_mode) else None
        self._seen.append(((st.st_dev, st.st_ino), entries))

    def take(self) -> list[tuple[str, tuple[str, ...] | None]]:
        """Each fsync since the last take: the path relative to the root ("." is the root)
        and, for a directory, its entries at that moment."""
        names = {}
        for path in [self.root, *self.root.rglob("*")]:
            st = path.stat()
            names[(st.st_dev, st.st_ino)] = path.relative_to(self.root).as_posix()
        seen = [(names.get(inode, "?"), entries) for inode, entries in self._seen]
        self._seen.clear()
        return seen


def record_fsyncs(root: Path, monkeypatch: pytest.MonkeyPatch) -> Fsyncs:
    """Every ``os.fsync`` from now until the test ends (they still happen)."""
    fsyncs = Fsyncs(root)
    real = os.fsync

    def spy(fd: int) -> None:
        fsyncs.record(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return fsyncs
