"""protocol/s3/grouped_puts.GroupCommit: leader/follower batching (issue 17, PutObject's
group commit). A lone submit is applied at once on its own thread (no timer, no hand-off);
submits made while a batch is applied queue and are applied together next, in arrival
order, by the first of them; every waiter gets its own outcome; a batch that raises gives
every waiter of that batch the failure, and the next batch goes on."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from trent.protocol.s3.grouped_puts import GroupCommit


class Recorder:
    """``apply`` that records (thread, items) per batch; the first batch can be held open."""

    def __init__(self, hold_first: bool = False, fail_on: str | None = None) -> None:
        self.batches: list[tuple[int, list[str]]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail_on = fail_on

    def apply(self, items: Sequence[str]) -> list[str]:
        self.batches.append((threading.get_ident(), list(items)))
        self.entered.set()
        assert self.release.wait(10)
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError("the batch failed")
        return [f"ok:{item}" for item in items]


def failed(exc: Exception) -> str:
    return f"failed:{type(exc).__name__}"


def test_a_lone_submit_is_applied_at_once_on_its_own_thread() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.apply, failed)
    started = time.perf_counter()
    assert group.submit("a") == "ok:a"
    elapsed = time.perf_counter() - started
    assert recorder.batches == [(threading.get_ident(), ["a"])]  # no hand-off to another thread
    assert elapsed < 0.05  # and no timer (a generous bound for a shared machine)
    assert group.submit("b") == "ok:b"
    assert [items for _, items in recorder.batches] == [["a"], ["b"]]
    assert (group.batches, group.items) == (2, 2)


def submit_in_order(group: GroupCommit[str, str], items: list[str], results: dict[str, str]) -> list[threading.Thread]:
    """Start one thread per item, each queued before the next starts."""
    threads = []
    for item in items:
        thread = threading.Thread(target=lambda i=item: results.__setitem__(i, group.submit(i)))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 10
        while len(group._queue) < len(threads) and time.monotonic() < deadline:  # noqa: SLF001 - queued in order
            time.sleep(0.001)
    return threads


def test_submits_queued_behind_a_batch_are_applied_together_in_arrival_order() -> None:
    recorder = Recorder(hold_first=True)
    group = GroupCommit(recorder.apply, failed)
    results: dict[str, str] = {}
    first = threading.Thread(target=lambda: results.__setitem__("first", group.submit("first")))
    first.start()
    assert recorder.entered.wait(10)
    threads = submit_in_order(group, [f"w{i}" for i in range(10)], results)
    recorder.release.set()
    for thread in [first, *threads]:
        thread.join(10)
    assert [items for _, items in recorder.batches] == [["first"], [f"w{i}" for i in range(10)]]
    assert results == {"first": "ok:first", **{f"w{i}": f"ok:w{i}" for i in range(10)}}
    assert (group.batches, group.items) == (2, 11)
    assert not group._busy and not group._queue  # noqa: SLF001 - idle again: the next submit leads


def test_a_batch_holds_at_most_max_batch_items() -> None:
    recorder = Recorder(hold_first=True)
    group = GroupCommit(recorder.apply, failed, max_batch=4)
    results: dict[str, str] = {}
    first = threading.Thread(target=lambda: results.__setitem__("first", group.submit("first")))
    first.start()
    assert recorder.entered.wait(10)
    items = [f"w{i}" for i in range(10)]
    threads = submit_in_order(group, items, results)
    recorder.release.set()
    for thread in [first, *threads]:
        thread.join(10)
    assert [b for _, b in recorder.batches] == [["first"], items[0:4], items[4:8], items[8:10]]
    assert results == {"first": "ok:first", **{i: f"ok:{i}" for i in items}}


def test_a_failed_batch_fails_every_waiter_of_that_batch_only() -> None:
    recorder = Recorder(hold_first=True, fail_on="w2")
    group = GroupCommit(recorder.apply, failed)
    results: dict[str, str] = {}
    first = threading.Thread(target=lambda: results.__setitem__("first", group.submit("first")))
    first.start()
    assert recorder.entered.wait(10)
    threads = submit_in_order(group, ["w1", "w2", "w3"], results)
    recorder.release.set()
    for thread in [first, *threads]:
        thread.join(10)
    assert results == {"first": "ok:first", "w1": "failed:RuntimeError", "w2": "failed:RuntimeError",
                       "w3": "failed:RuntimeError"}
    assert group.submit("after") == "ok:after"  # nothing stuck


def test_an_apply_giving_the_wrong_number_of_outcomes_fails_the_batch() -> None:
    group = GroupCommit(lambda items: [], failed)
    assert group.submit("a") == "failed:RuntimeError"


def test_many_threads_each_get_their_own_outcome() -> None:
    group = GroupCommit(lambda items: [f"ok:{i}" for i in items], failed, max_batch=8)
    results: dict[str, str] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(str(i), group.submit(str(i))))
               for i in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {str(i): f"ok:{i}" for i in range(200)}
    assert group.items == 200


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        GroupCommit(lambda items: list(items), failed, max_batch=0)
