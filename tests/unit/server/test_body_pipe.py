"""server/body_pipe.py, BodyPipe's worker side: what it holds while the body arrives."""

from __future__ import annotations

import threading
import time
import weakref

from tests.release_probe import Piece
from trent.server.body_pipe import BodyPipe


def test_the_worker_lets_go_of_a_piece_before_waiting_for_the_next(pipe: BodyPipe) -> None:
    """While the socket fills the next MiB, the pipe holds none of the last one (each layer
    of an upload that kept its last piece was a MiB per upload in flight)."""
    first = Piece(b"a" * 1000)
    taken = weakref.ref(first)
    pipe.feed(first)
    del first
    chunks = pipe.chunks()
    assert len(next(chunks)) == 1000
    got: list[bytes] = []
    waiter = threading.Thread(target=lambda: got.append(bytes(next(chunks))), daemon=True)
    waiter.start()
    try:
        deadline = time.monotonic() + 5
        while taken() is not None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert taken() is None, "the pipe kept its last piece while it waited for the next"
        assert waiter.is_alive() and not got  # it let go before the wait ended
    finally:
        pipe.feed(b"b")
        pipe.close()
        waiter.join(5)
    assert got == [b"b"] and next(chunks, None) is None and pipe.consumed
