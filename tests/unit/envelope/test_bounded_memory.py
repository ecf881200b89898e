"""Streaming memory is bounded by the chunk size, not by the message size."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from trent import envelope as ev


class Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, view: memoryview) -> int:  # type: ignore[override]
        n = min(len(view), self.left)
        view[:n] = bytes(n)
        self.left -= n
        return n


class Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.n = 0
        self.head = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
        self.n += len(b)
        return len(b)



@pytest.mark.parametrize("suite_id", [0x0478, 0x0578])
def test_peak_allocation_is_independent_of_size(keyring: ev.RawAesKeyring, suite_id: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    size = 48 << 20
    path = tmp_path / "m"
    tracemalloc.start()
    try:
        with open(path, "wb") as f:
            ev.encrypt_stream(Zeros(size), f, keyring=keyring, suite=ev.suite_by_id(suite_id), source_length=None)
        _, enc_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sink = Sink()
        with open(path, "rb") as f:
            ev.decrypt_stream(f, sink, keyring=keyring, threads=2)
        _, dec_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.n == size
    assert enc_peak < 8 << 20 and dec_peak < 8 << 20, (enc_peak, dec_peak)
