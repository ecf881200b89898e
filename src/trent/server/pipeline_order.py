"""The order of pipelined requests on one HTTP/1.1 connection (RFC 9112 §9.3.2).

A client may send several requests without waiting for their responses. RFC 9112 §9.3.2:
"A server MAY process a sequence of pipelined requests in parallel if they all have safe
methods, but it MUST send the corresponding responses in the same order that the requests
were received." So, per connection:

- responses leave in request order (:attr:`PipelineOrder.queue`, its head is the oldest
  request not yet answered in full);
- safe requests (GET, HEAD, OPTIONS; RFC 9110 §9.2.1) run in parallel with each other;
- an unsafe request (PUT, POST, DELETE, ..., and so every KMS call) starts only once every
  earlier request of the connection has finished (its response is ready: what it changed
  is committed), and every later request waits until it has finished;
- a request that has to wait is started on the loop pass after the one that let it go
  (never from inside another request's completion: no recursion, however long the queue);
- an interim response (``100 Continue``) is written only when its request is at the head
  of the queue, after everything before it on the connection (:meth:`at_head`), never
  inside another response;
- with :data:`MAX_UNANSWERED` requests unanswered the connection stops reading the socket
  (a :class:`ReadHold`, the same counted hold a streamed upload's ``BodyPipe`` uses) and
  reads again below that.

When the connection goes away (:meth:`close`) the requests already read that still wait are
started all the same (as every request read was before this order existed): each is
audited and finishes, its answer goes nowhere, and nothing is left waiting. When a response
closes the connection (``connection: close``) nothing follows it in the order: the
connection admits no request after the one that closes it (RFC 9112 §9.6, http11.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

SAFE_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS"})
MAX_UNANSWERED = 64  # requests of one connection read but not answered before reading pauses

_WAITING, _RUNNING, _FINISHED = 0, 1, 2


class ReadHold:
    """A counted pause of one connection's reading: the first :meth:`hold` pauses, the
    last :meth:`release` resumes. Several reasons may hold at once (an upload's pipe is
    full, too many requests unanswered); one reason ending must not resume the others'."""

    __slots__ = ("_count", "_pause", "_resume")

    def __init__(self, pause: Callable[[], None], resume: Callable[[], None]) -> None:
        self._count = 0
        self._pause = pause
        self._resume = resume

    @property
    def held(self) -> bool:
        return self._count > 0

    def hold(self) -> None:
        self._count += 1
        if self._count == 1:
            self._pause()

    def release(self) -> None:
        if self._count <= 0:  # an unbalanced release (a bug) must not resume someone else's hold
            raise RuntimeError("ReadHold released more often than held")
        self._count -= 1
        if self._count == 0:
            self._resume()


class Ticket:
    """One request's place in its connection's order (http11's response slot extends it;
    a subclass's ``__init__`` may set these fields itself rather than call this one)."""

    __slots__ = ("unsafe", "_state", "_start", "_on_head")

    def __init__(self, unsafe: bool) -> None:
        self.unsafe = unsafe
        self._state = _WAITING
        self._start: tuple[Callable[..., None], tuple[Any, ...]] | None = None
        self._on_head: Callable[[], None] | None = None

    @property
    def started(self) -> bool:
        return self._state != _WAITING

    @property
    def finished(self) -> bool:
        return self._state == _FINISHED


T = TypeVar("T", bound=Ticket)


class PipelineOrder(Generic[T]):
    """The requests of one connection: when each may start, which one answers next."""

    __slots__ = ("queue", "_waiting", "_running", "_unsafe_running", "_defer", "_hold", "_limit", "_held",
                 "_pass_due")

    def __init__(self, defer: Callable[[Callable[[], None]], object], hold: ReadHold,
                 limit: int = MAX_UNANSWERED) -> None:
        """``defer(fn)`` runs ``fn`` on the next loop pass (``loop.call_soon``)."""
        self.queue: deque[T] = deque()  # unanswered, in request order; [0] is answered next
        self._waiting: deque[T] = deque()  # read, not started (always the newest requests)
        self._running = 0
        self._unsafe_running = False
        self._defer = defer
        self._hold = hold
        self._limit = limit
        self._held = False
        self._pass_due = False

    def admit(self, ticket: T, start: Callable[..., None], *args: Any) -> None:
        """A request was read: ``start(*args)`` it now if it may run, else once it may.
        (Arguments rather than a closure: the common case, starting at once, stays cheap.)"""
        queue = self.queue
        queue.append(ticket)
        if len(queue) >= self._limit and not self._held:
            self._held = True
            self._hold.hold()
        if not self._waiting and not (self._running if ticket.unsafe else self._unsafe_running):
            ticket._state = _RUNNING
            self._running += 1
            if ticket.unsafe:
                self._unsafe_running = True
            start(*args)
        else:
            ticket._start = (start, args)
            self._waiting.append(ticket)

    def finished(self, ticket: T) -> None:
        """``ticket``'s response is ready (its work is done): the requests it held back may start."""
        if ticket._state != _RUNNING:
            return
        ticket._state = _FINISHED
        self._running -= 1
        if ticket.unsafe:
            self._unsafe_running = False
        if self._waiting and not self._pass_due:
            self._pass_due = True
            self._defer(self._start_waiting)

    def pop_head(self) -> T:
        """The head's response was written whole; the next request is the head now."""
        ticket = self.queue.popleft()
        if self._held and len(self.queue) < self._limit:
            self._held = False
            self._hold.release()
        return ticket

    def at_head(self, ticket: T, action: Callable[[], None]) -> None:
        """Run ``action`` (write an interim response) now if ``ticket`` is the head,
        else when it becomes the head (:meth:`head_turn`)."""
        if self.queue and self.queue[0] is ticket:
            action()
        else:
            ticket._on_head = action

    def head_turn(self) -> None:
        """Everything before the head has been written: the head's interim action may run."""
        if self.queue:
            head = self.queue[0]
            action = head._on_head
            if action is not None:
                head._on_head = None
                action()

    def close(self) -> None:
        """The connection is gone (or closing): nothing will be answered any more. Requests
        still waiting keep their turn and run (their answers are dropped); after a response
        that closed the connection there are none (nothing is admitted after its request)."""
        for ticket in self.queue:
            ticket._on_head = None
        self.queue.clear()
        if self._held:
            self._held = False
            self._hold.release()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return self._running

    # --- internals ---------------------------------------------------------------------------

    def _start_waiting(self) -> None:
        self._pass_due = False
        waiting = self._waiting
        while waiting:
            ticket = waiting[0]
            if self._running if ticket.unsafe else self._unsafe_running:
                return
            waiting.popleft()
            call, ticket._start = ticket._start, None
            assert call is not None
            ticket._state = _RUNNING
            self._running += 1
            if ticket.unsafe:
                self._unsafe_running = True
            call[0](*call[1])
