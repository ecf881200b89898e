"""A request body handed from the event loop to a worker thread as it arrives (issue 17:
S3 uploads are never held in memory whole).

The loop side (:meth:`feed`, :meth:`close`, :meth:`abort`) runs in the connection's
``data_received``; the worker side (:meth:`chunks`) blocks until data comes. Memory is
bounded: above ``high_water`` buffered bytes the connection stops reading the socket
(``pause``), and reading resumes once the worker took the buffer (``resume``) — TCP flow
control does the rest. (The connection gives the hold and release of its counted
``pipeline_order.ReadHold``: every ``pause`` is matched by one ``resume``.) The first pull of the body calls ``on_first_read`` (the server
answers ``Expect: 100-continue`` then: only once the request passed authentication,
authorization and key checks, the client sends its body).

Once the head and what came with it are parsed, the rest of a body whose length is known
(Content-Length) is read by the socket straight into the pieces the worker gets
(:class:`BodyFiller`): no copy between the kernel and the worker's hashing, encryption and
file write.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from trent import errors

HIGH_WATER = 2 << 20  # buffered bytes before the socket stops being read (per upload)
# What one pull hands the worker at most: fewer, bigger pieces than the socket's (uvloop
# reads at most 256,000 bytes). Each piece is one MD5 update, one encryption pass and one
# file write, and each of those lets the GIL go to the loop and back: 1 MiB pieces took a
# large SSE-S3 PUT's CPU from ~2,650 to ~2,550 µs per MiB (394 -> 416 MB/s, medians of
# nine alternated PUTs; bench/S3_SSE.md, 2026-12-07). A body of known length is read into
# pieces of this size (BodyFiller); a chunked one's llhttp pieces are joined (one copy).
MAX_PIECE = 1 << 20


class BodyPipe:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        pause: Callable[[], None],
        resume: Callable[[], None],
        on_first_read: Callable[[], None] | None = None,
        high_water: int = HIGH_WATER,
    ) -> None:
        self._loop = loop
        self._pause = pause
        self._resume = resume
        self._on_first_read = on_first_read
        self._high_water = high_water
        self._cond = threading.Condition()
        self._chunks: deque[bytes | bytearray] = deque()
        self._size = 0
        self._complete = False  # the whole body was received
        self._error: errors.TrentError | None = None
        self._paused = False
        self._started = False
        self._taken_all = False
        self.discarding = False  # the handler answered: the rest of the body is dropped
        self.expects_continue = False  # the client waits for 100 Continue before sending it
        self.continue_sent = False  # the server wrote that 100 Continue (at its turn: pipeline_order)

    # --- the event loop's side -----------------------------------------------------------

    def feed(self, data: bytes | bytearray) -> None:
        """``data`` is the pipe's from now on (a :class:`BodyFiller`'s piece is never written again)."""
        if self.discarding:
            return
        with self._cond:
            self._chunks.append(data)
            self._size += len(data)
            pause = self._size >= self._high_water and not self._paused
            if pause:
                self._paused = True
            self._cond.notify()
        if pause:
            self._pause()

    def close(self) -> None:
        """The body ended (the request message is complete)."""
        with self._cond:
            self._complete = True
            self._cond.notify()

    def abort(self, error: errors.TrentError) -> None:
        """The connection went away before the body ended."""
        with self._cond:
            if not self._complete:
                self._error = error
            self._cond.notify()

    @property
    def started(self) -> bool:
        return self._started

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def aborted(self) -> bool:
        """The body will never end: the client left, or its framing broke (:meth:`abort`)."""
        return self._error is not None

    def discard_rest(self) -> None:
        """The answer is ready before the body ended: drop what still comes, keep reading."""
        with self._cond:
            self.discarding = True
            self._chunks.clear()
            self._size = 0
            resume = self._paused
            self._paused = False
        if resume:
            self._resume()

    # --- the worker's side (BodySource) ------------------------------------------------------

    def chunks(self) -> Iterator[bytes | bytearray]:
        if not self._started:
            self._started = True
            if self._on_first_read is not None:
                self._loop.call_soon_threadsafe(self._on_first_read)
        while (data := self._take()) is not None:
            yield data
            # Let go of a piece before waiting for the next. A suspended generator keeps its
            # locals, so each stage of an upload (this pipe, the payload check, the
            # encryption, the blob write) held the last MiB while the socket filled the
            # next: the 10 parallel parts of `aws s3 cp` had ~23 MiB of heap in use at their
            # peak, 12-17 once every stage lets go (ARCHITECTURE.md, "An S3 transfer's memory").
            del data

    def _take(self) -> bytes | bytearray | None:
        """The next piece (what is queued, joined up to ``MAX_PIECE``), once there is one;
        None at the body's end."""
        with self._cond:
            while not self._chunks and not self._complete and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            if not self._chunks:
                self._taken_all = True
                return None
            pieces = [self._chunks.popleft()]
            taken = len(pieces[0])
            while self._chunks and taken + len(self._chunks[0]) <= MAX_PIECE:
                piece = self._chunks.popleft()
                pieces.append(piece)
                taken += len(piece)
            self._size -= taken
            resume = self._paused and self._size < self._high_water // 2
            if resume:
                self._paused = False
        if resume:
            self._loop.call_soon_threadsafe(self._resume)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def read_all(self, limit: int) -> bytes:
        return read_at_most(self.chunks(), limit)

    @property
    def consumed(self) -> bool:
        return self._taken_all


class BodyFiller:
    """The rest of a streamed body of known length, read by the socket straight into the
    pieces its pipe hands the worker (``asyncio.BufferedProtocol``: the connection's
    ``get_buffer`` returns :meth:`buffer`, its ``buffer_updated`` calls :meth:`received`).

    Without it each byte of a large upload was copied three times on the loop before the
    worker saw it: by the event loop into a ``bytes`` per socket read, by llhttp's body
    callback into another, and by :meth:`BodyPipe.chunks` joining those into a piece. Each
    piece here is sized to what is left of the body (at most ``MAX_PIECE``), so a read never
    takes bytes of the next request, and it goes to the pipe once it is full. A body the
    handler stopped reading (``BodyPipe.discarding``) is read into ``scratch`` and dropped.
    """

    __slots__ = ("_pipe", "_scratch", "remaining", "_piece", "_filled", "_into_piece")

    def __init__(self, pipe: BodyPipe, remaining: int, scratch: memoryview) -> None:
        assert remaining > 0
        self._pipe = pipe
        self._scratch = scratch
        self.remaining = remaining  # bytes of the body not read yet
        self._piece: bytearray | None = None
        self._filled = 0
        self._into_piece = False  # what the last buffer() returned

    def buffer(self) -> memoryview:
        """Where the next socket read goes: never empty, never past the body's end."""
        if self._pipe.discarding:
            self._into_piece = False
            return self._scratch[: self.remaining]
        if self._piece is None:
            self._piece = bytearray(min(MAX_PIECE, self.remaining))
            self._filled = 0
        self._into_piece = True
        return memoryview(self._piece)[self._filled :]

    def received(self, nbytes: int) -> bool:
        """``nbytes`` were read into the last :meth:`buffer`; True once the body is all in."""
        self.remaining -= nbytes
        if self._into_piece:
            self._filled += nbytes
            piece = self._piece
            assert piece is not None
            if self._filled == len(piece):
                self._piece = None
                self._pipe.feed(piece)
        return self.remaining == 0


def read_at_most(pieces: Iterable[bytes | bytearray], limit: int) -> bytes:
    """The whole body of a request whose handler needs it at once (an XML document), refused
    once it passes ``limit`` so a client cannot make the server buffer without bound."""
    out = bytearray()
    for piece in pieces:
        out += piece
        if len(out) > limit:
            raise errors.InvalidRequest("Your request was too big.")
    return bytes(out)
