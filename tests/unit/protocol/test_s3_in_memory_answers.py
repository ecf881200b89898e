"""GetObject answers a small body from memory, a larger one as a stream (sse_operations._primed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trent import errors
from tests.release_probe import ReleaseProbe, drain
from trent.protocol.s3.sse_operations import IN_MEMORY_ANSWER_MAX, _primed


class Tracked:
    """A body stream that remembers whether it was run to its end."""

    def __init__(self, pieces: list[bytes], fail_after: Exception | None = None) -> None:
        self.pieces, self.fail_after, self.finished = pieces, fail_after, False

    def __iter__(self) -> Iterator[bytes | memoryview]:
        for piece in self.pieces:
            yield memoryview(piece)
        if self.fail_after is not None:
            raise self.fail_after
        self.finished = True


def test_a_small_body_is_answered_from_memory_after_its_stream_ended() -> None:
    source = Tracked([b"x" * 1024])
    body, stream = _primed(iter(source), 1024)
    assert (body, stream) == (b"x" * 1024, None)
    assert source.finished  # its last checks ran before the headers leave


def test_an_empty_body_needs_no_stream() -> None:
    assert _primed(iter(Tracked([])), 0) == (b"", None)


def test_a_body_larger_than_one_piece_stays_a_stream() -> None:
    source = Tracked([b"a" * 10, b"b" * 10])
    body, stream = _primed(iter(source), 20)
    assert body == b"" and stream is not None
    assert b"".join(bytes(p) for p in stream) == b"a" * 10 + b"b" * 10


def test_a_body_over_the_inline_limit_stays_a_stream_even_in_one_piece() -> None:
    size = IN_MEMORY_ANSWER_MAX + 1
    source = Tracked([b"z" * size])
    body, stream = _primed(iter(source), size)
    assert body == b"" and stream is not None and not source.finished
    assert sum(len(p) for p in stream) == size


def test_a_failure_at_the_end_still_cuts_the_answer_after_its_first_piece() -> None:
    """As a streamed answer did: the headers and the first piece leave, then the stream
    raises (the server aborts the connection); no in-memory 200 for a body that failed."""
    source = Tracked([b"q" * 100], fail_after=errors.KMSInternal(audit_reason="does not authenticate"))
    body, stream = _primed(iter(source), 100)
    assert body == b"" and stream is not None
    assert bytes(next(stream)) == b"q" * 100
    with pytest.raises(errors.KMSInternal):
        next(stream)


def test_a_failure_on_the_first_piece_is_an_error_before_the_headers() -> None:
    with pytest.raises(errors.KMSInternal):
        _primed(iter(Tracked([], fail_after=OSError("gone"))), 10)


def test_a_streamed_answer_lets_go_of_each_piece_before_the_next_is_made() -> None:
    """The first piece, read before the headers left, is not kept for the whole transfer
    (itertools.chain kept it: a MiB per large GET in flight)."""
    size = IN_MEMORY_ANSWER_MAX + 1
    probe = ReleaseProbe([b"a" * size, b"b" * size, b"c" * size])
    body, stream = _primed(iter(probe), 3 * size)
    assert body == b"" and stream is not None
    drain(stream)
    assert probe.held_when_next_asked == [False, False]


def test_closing_a_streamed_answer_closes_its_source() -> None:
    """The server closes an answer it stops writing (a client gone): the blob file with it."""
    closed: list[bool] = []

    def source() -> Iterator[bytes]:
        try:
            yield b"a" * (IN_MEMORY_ANSWER_MAX + 1)
            yield b"b"
        finally:
            closed.append(True)

    _, stream = _primed(source(), IN_MEMORY_ANSWER_MAX + 2)
    assert stream is not None
    next(stream)
    stream.close()  # type: ignore[attr-defined]
    assert closed == [True]
