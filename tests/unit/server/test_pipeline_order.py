"""server/pipeline_order.py: the order of pipelined requests on one connection (RFC 9112
§9.3.2), without a server: a fake loop (``defer`` collects callbacks, ``loop_pass`` runs
them) and a fake socket whose reading is paused and resumed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trent.server.pipeline_order import MAX_UNANSWERED, SAFE_METHODS, PipelineOrder, ReadHold, Ticket


class Harness:
    def __init__(self, limit: int = MAX_UNANSWERED) -> None:
        self.deferred: list[Callable[[], None]] = []
        self.started: list[str] = []
        self.written: list[str] = []
        self.reading = True
        self.hold = ReadHold(self._pause, self._resume)
        self.order: PipelineOrder[Request] = PipelineOrder(self.deferred.append, self.hold, limit)

    def _pause(self) -> None:
        assert self.reading, "paused twice"
        self.reading = False

    def _resume(self) -> None:
        assert not self.reading, "resumed while reading"
        self.reading = True

    def read(self, name: str, method: bytes = b"GET") -> Request:
        request = Request(name, method not in SAFE_METHODS)
        self.order.admit(request, lambda: self.started.append(name))
        return request

    def loop_pass(self) -> None:
        deferred = self.deferred[:]
        self.deferred.clear()  # the order holds this list's append
        for callback in deferred:
            callback()

    def answer(self, request: Request) -> None:
        """The request's response is ready; write every ready response at the head (flush)."""
        request.ready = True
        self.order.finished(request)
        queue = self.order.queue
        while queue and queue[0].ready:
            self.written.append(self.order.pop_head().name)
        self.order.head_turn()


class Request(Ticket):
    __slots__ = ("name", "ready")

    def __init__(self, name: str, unsafe: bool) -> None:
        super().__init__(unsafe)
        self.name = name
        self.ready = False


def test_safe_requests_start_at_once_and_answer_in_order() -> None:
    h = Harness()
    a, b, c = h.read("a"), h.read("b", b"HEAD"), h.read("c", b"OPTIONS")
    assert h.started == ["a", "b", "c"]
    h.answer(c)
    h.answer(b)
    assert h.written == []  # a is still running: nothing may overtake it
    h.answer(a)
    assert h.written == ["a", "b", "c"]
    assert not h.order.queue and h.order.running == 0


def test_an_unsafe_request_waits_for_every_earlier_one() -> None:
    h = Harness()
    a, b = h.read("a"), h.read("b")
    put = h.read("put", b"PUT")
    assert h.started == ["a", "b"] and h.order.waiting == 1
    h.answer(a)
    h.loop_pass()
    assert h.started == ["a", "b"]  # b still runs
    h.answer(b)
    assert h.started == ["a", "b"]  # not from inside b's completion: on the next loop pass
    h.loop_pass()
    assert h.started == ["a", "b", "put"]
    h.answer(put)
    assert h.written == ["a", "b", "put"]


def test_later_requests_wait_for_an_unsafe_one_then_run_in_parallel() -> None:
    h = Harness()
    put = h.read("put", b"PUT")
    g1, g2 = h.read("g1"), h.read("g2")
    assert h.started == ["put"]
    h.answer(put)
    h.loop_pass()
    assert h.started == ["put", "g1", "g2"]  # both reads at once: they are safe
    h.answer(g2)
    h.answer(g1)
    assert h.written == ["put", "g1", "g2"]


def test_unsafe_requests_run_one_at_a_time() -> None:
    h = Harness()
    requests = [h.read(f"p{i}", method) for i, method in enumerate([b"PUT", b"POST", b"DELETE", b"PATCH"])]
    for i, request in enumerate(requests):
        assert h.started == [f"p{j}" for j in range(i + 1)]
        assert h.order.running == 1
        h.answer(request)
        h.loop_pass()
    assert h.written == ["p0", "p1", "p2", "p3"]


def test_a_read_after_a_write_after_a_read() -> None:
    """GET, PUT, GET: the second GET may not run beside the PUT, nor before the first GET
    is done (the PUT is between them)."""
    h = Harness()
    g1 = h.read("g1")
    put = h.read("put", b"PUT")
    g2 = h.read("g2")
    assert h.started == ["g1"]
    h.answer(g1)
    h.loop_pass()
    assert h.started == ["g1", "put"]
    h.answer(put)
    h.loop_pass()
    assert h.started == ["g1", "put", "g2"]
    h.answer(g2)
    assert h.written == ["g1", "put", "g2"]


def test_100_continue_only_at_the_head() -> None:
    h = Harness()
    get = h.read("get")
    put = h.read("put", b"PUT")
    h.order.finished(get)  # its response is ready (a streamed one: its bytes still go out)
    h.loop_pass()
    assert h.started == ["get", "put"]
    h.order.at_head(put, lambda: h.written.append("100 put"))
    assert h.written == []  # the GET's response has not left yet
    h.answer(get)
    assert h.written == ["get", "100 put"]  # right after the GET, never before or inside it
    h.answer(put)
    assert h.written == ["get", "100 put", "put"]


def test_100_continue_at_once_when_already_at_the_head() -> None:
    h = Harness()
    put = h.read("put", b"PUT")
    h.order.at_head(put, lambda: h.written.append("100 put"))
    assert h.written == ["100 put"]
    h.answer(put)
    assert h.written == ["100 put", "put"]


def test_reading_pauses_at_64_unanswered_and_resumes_below() -> None:
    h = Harness()
    requests = [h.read(f"g{i}") for i in range(MAX_UNANSWERED - 1)]
    assert h.reading
    requests.append(h.read("last"))
    assert not h.reading and len(h.order.queue) == MAX_UNANSWERED
    h.answer(requests[1])
    assert not h.reading  # answered, but not written: the first still holds the queue
    h.answer(requests[0])
    assert h.reading and len(h.order.queue) == MAX_UNANSWERED - 2
    for request in requests[2:]:
        h.answer(request)
    assert h.reading and not h.order.queue


def test_back_pressure_shares_the_hold_of_an_upload_pipe() -> None:
    """An upload's pipe (BodyPipe's pause/resume) and the order hold reading together: the
    socket is read again only when both let go, whichever lets go first."""
    h = Harness(limit=2)
    h.hold.hold()  # a pipe's buffer is full
    assert not h.reading
    a, b = h.read("a"), h.read("b")  # two unanswered: the order holds too
    h.answer(a)
    h.answer(b)  # the order lets go
    assert not h.reading  # the pipe still holds
    h.hold.release()
    assert h.reading


def test_an_unbalanced_release_is_refused() -> None:
    h = Harness()
    with pytest.raises(RuntimeError):
        h.hold.release()
    assert h.reading


def test_closing_with_queued_requests_loses_nothing_and_hangs_nothing() -> None:
    """The connection goes away while a PUT runs and more requests wait: the waiting ones
    still start, in order, when their turn comes (every request read is run and audited,
    as before), the hold on reading is released, and nothing stays queued."""
    h = Harness(limit=3)
    put = h.read("put", b"PUT")
    g, d = h.read("g"), h.read("d", b"DELETE")
    h.order.at_head(d, lambda: h.written.append("100 d"))
    assert not h.reading
    h.order.close()
    assert h.reading and not h.order.queue
    h.order.finished(put)
    h.loop_pass()
    assert h.started == ["put", "g"]
    h.order.finished(g)
    h.loop_pass()
    assert h.started == ["put", "g", "d"]
    h.order.finished(d)
    h.order.head_turn()
    h.loop_pass()
    assert h.order.running == 0 and h.order.waiting == 0 and h.deferred == []
    assert h.written == []  # no interim response for a connection that is gone


def test_finished_twice_or_before_starting_changes_nothing() -> None:
    h = Harness()
    put = h.read("put", b"PUT")
    g = h.read("g")
    h.order.finished(g)  # not started: ignored, it keeps its turn
    h.order.finished(put)
    h.order.finished(put)
    assert h.order.running == 0
    h.loop_pass()
    assert h.started == ["put", "g"] and h.order.running == 1


def test_a_long_queue_starts_without_recursion() -> None:
    """1,000 requests behind one write each start on a loop pass of their own when the one
    before finishes (a request answered inline must not start the next from its stack)."""
    h = Harness(limit=10_000)
    requests = [h.read(f"p{i}", b"POST") for i in range(1000)]
    for request in requests:
        h.answer(request)
        h.loop_pass()
    assert h.started == [f"p{i}" for i in range(1000)]
    assert h.written == h.started
