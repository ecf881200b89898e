"""server/body_pipe.py, BodyFiller: the rest of a streamed upload of known length, read by
the socket straight into the pipe's pieces. Each piece is at most MAX_PIECE and never runs
past the body's end (the next request's bytes stay in the socket), goes to the pipe only
once full, and a body the handler stopped reading is read into the scratch buffer and
dropped."""

from __future__ import annotations

import os

import pytest

from trent.server.body_pipe import MAX_PIECE, BodyFiller, BodyPipe


def _read(filler: BodyFiller, data: bytes, read_size: int) -> int:
    """Socket reads of at most ``read_size`` into the filler's buffers; how many there were."""
    reads = 0
    view = memoryview(data)
    while view:
        buffer = filler.buffer()
        assert 0 < len(buffer) <= filler.remaining
        n = min(len(buffer), len(view), read_size)
        buffer[:n] = view[:n]
        done = filler.received(n)
        view = view[n:]
        reads += 1
        assert done == (filler.remaining == 0)
    return reads


@pytest.mark.parametrize("size", [1, 65_536, MAX_PIECE - 1, MAX_PIECE, MAX_PIECE + 1, 3 * MAX_PIECE + 12_345])
@pytest.mark.parametrize("read_size", [1_000, 256_000, 4 << 20])
def test_pieces_are_whole_bounded_and_in_order(pipe: BodyPipe, size: int, read_size: int) -> None:
    data = os.urandom(size)
    filler = BodyFiller(pipe, size, memoryview(bytearray(256 << 10)))
    _read(filler, data, read_size)
    pipe.close()
    pieces = list(pipe.chunks())
    assert b"".join(pieces) == data
    assert [len(p) for p in pieces] == [MAX_PIECE] * (size // MAX_PIECE) + ([size % MAX_PIECE] if size % MAX_PIECE else [])
    assert all(isinstance(p, bytearray) for p in pieces)  # the socket's own pieces: never copied


def test_a_piece_goes_to_the_pipe_only_once_full(pipe: BodyPipe) -> None:
    filler = BodyFiller(pipe, MAX_PIECE + 10, memoryview(bytearray(1024)))
    _read(filler, b"a" * (MAX_PIECE - 1), 1 << 20)
    assert pipe._size == 0
    _read(filler, b"a", 1 << 20)
    assert pipe._size == MAX_PIECE
    assert len(filler.buffer()) == 10  # the last piece is sized to what is left


def test_a_discarded_body_is_read_into_scratch_and_dropped(pipe: BodyPipe) -> None:
    scratch = memoryview(bytearray(4096))
    filler = BodyFiller(pipe, 10_000 + MAX_PIECE, scratch)
    _read(filler, b"b" * 5000, 1 << 20)  # half a piece, then the handler answers
    pipe.discard_rest()
    buffer = filler.buffer()
    assert buffer.obj is scratch.obj and len(buffer) == 4096
    reads = _read(filler, b"c" * (5000 + MAX_PIECE), 1 << 20)
    assert reads == -(-(5000 + MAX_PIECE) // 4096)
    assert filler.remaining == 0
    pipe.close()
    assert list(pipe.chunks()) == []
