"""The per-thread pool of OS randomness for public values (ids, salts, nonces; issue 16)."""

import os

import pytest

from trent.domain import randomness
from tests.unit.domain.concurrent_draws import draws_from_threads
from trent.domain.randomness import POOL_BYTES, pooled_random


def test_slices_are_fresh_across_refills_and_a_short_tail_is_dropped(monkeypatch) -> None:
    calls: list[int] = []
    counter = iter(range(1, 1000))

    def fake_urandom(n: int) -> bytes:  # each refill distinguishable: all bytes = refill number
        calls.append(n)
        return bytes([next(counter)]) * n

    monkeypatch.setattr(randomness.os, "urandom", fake_urandom)
    monkeypatch.setattr(randomness._POOL, "state", [b"", 0])
    per_pool = POOL_BYTES // 28
    out = [pooled_random(28) for _ in range(per_pool + 1)]
    assert calls == [POOL_BYTES, POOL_BYTES]  # one refill per 146 salts + nonces, not one call each
    assert set(out[:per_pool]) == {bytes([1]) * 28}
    assert out[per_pool] == bytes([2]) * 28  # the 8-byte tail of the first buffer was never used


def test_values_never_repeat() -> None:
    values = [pooled_random(28) for _ in range(2000)]  # ~14 refills
    assert len(set(values)) == len(values)
    assert all(len(v) == 28 for v in values)


@pytest.mark.parametrize("n", [-1, 0, POOL_BYTES + 1])
def test_sizes_outside_one_pool_are_refused(n: int) -> None:
    with pytest.raises(ValueError):
        pooled_random(n)


def test_threads_never_share_bytes() -> None:
    everything = draws_from_threads(lambda: pooled_random(28))
    assert len(set(everything)) == len(everything) == 4000


def test_a_forked_child_does_not_repeat_its_parents_bytes() -> None:
    pooled_random(28)  # the pool now holds bytes the parent will hand out next
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.write(write, pooled_random(28))
        os._exit(0)
    os.close(write)
    child = os.read(read, 64)
    os.waitpid(pid, 0)
    assert len(child) == 28
    assert child != pooled_random(28)
