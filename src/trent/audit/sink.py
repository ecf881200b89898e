"""Where audit events go. Fail-closed: a sink that cannot write raises, and the
request whose event it was fails (its result is never sent).

:class:`JsonlFileSink` appends one JSON object per line on an ``O_APPEND``
descriptor, a batch of events in one ``write(2)`` (group commit), under a lock so
threads never interleave; an acknowledged event is in the kernel before the
response leaves. ``fsync`` per event is optional
(``durable=True``): it survives power loss at the cost of throughput.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson


class AuditWriteError(Exception):
    """The event could not be recorded."""


class AuditSink(Protocol):
    def write(self, event: Mapping[str, Any]) -> None: ...

    def write_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        """All or nothing as far as the caller knows: on error, treat every event as unwritten."""
        ...

    def close(self) -> None: ...


class JsonlFileSink:
    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self.path = path
        self._durable = durable
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, event: Mapping[str, Any]) -> None:
        self._append(orjson.dumps(event) + b"\n")

    def write_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        # Group commit: one write(2) for a whole batch of events.
        self._append(b"".join(orjson.dumps(e) + b"\n" for e in events))

    def _append(self, line: bytes) -> None:
        with self._lock:
            self._append_locked(line)

    def _append_locked(self, line: bytes) -> None:
        try:
            view = memoryview(line)
            while view:
                # A regular file takes it all at once; a short write only on a full disk,
                # and then the next write raises ENOSPC.
                written = os.write(self._fd, view)
                view = view[written:]
            if self._durable:
                os.fsync(self._fd)
        except OSError as exc:
            raise AuditWriteError(f"audit log write failed: {exc.strerror}") from None

    def truncate(self) -> None:
        """``--dev`` reset only: start the log afresh."""
        with self._lock:
            os.ftruncate(self._fd, 0)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class MemorySink:
    """For unit tests; ``fail=True`` makes every write fail (fail-closed tests)."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    def write(self, event: Mapping[str, Any]) -> None:
        self.write_many([event])

    def write_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        if self.fail:
            raise AuditWriteError("memory sink set to fail")
        self.events.extend(dict(e) for e in events)

    def close(self) -> None:
        pass
