"""A source of stream pieces that notes, each time the next piece is asked for, whether
whoever took the previous one still holds it (issue 17: an upload or download keeps one
piece per layer alive, not two; a suspended generator keeps its locals)."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator


class Piece(bytearray):
    """A bytearray that can be weakly referenced."""


class ReleaseProbe:
    def __init__(self, contents: Iterable[bytes]) -> None:
        self._contents = list(contents)
        self._refs: list[weakref.ref[Piece]] = []
        self.held_when_next_asked: list[bool] = []  # one entry per piece after the first

    def __iter__(self) -> Iterator[Piece]:
        for content in self._contents:
            if self._refs:
                self.held_when_next_asked.append(self._refs[-1]() is not None)
            yield self._new(content)  # not kept in a local: this generator holds nothing

    def _new(self, content: bytes) -> Piece:
        piece = Piece(content)
        self._refs.append(weakref.ref(piece))
        return piece

    def alive(self, index: int) -> bool:
        return self._refs[index]() is not None


def drain(stream: Iterator[object]) -> None:
    """Run ``stream`` to its end, keeping nothing it yields (a ``for`` loop's variable would
    hold each piece while the next is asked for)."""
    while next(stream, None) is not None:
        pass
