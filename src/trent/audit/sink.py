"""Where audit events go. Fail-closed: a sink that cannot write raises, and the
request whose event it was fails (its result is never sent).

:class:`JsonlFileSink` appends one JSON object per line with one ``write(2)`` on an
``O_APPEND`` descriptor, so concurrent writers (threads, or several processes on
one host) never interleave within a line, and an acknowledged event is in the
kernel before the response leaves. ``fsync`` per event is optional
(``durable=True``): it survives power loss at the cost of throughput.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import orjson


class AuditWriteError(Exception):
    """The event could not be recorded."""


class AuditSink(Protocol):
    def write(self, event: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonlFileSink:
    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self.path = path
        self._durable = durable
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, event: Mapping[str, Any]) -> None:
        line = orjson.dumps(event) + b"\n"
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise AuditWriteError("short write to the audit log")
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
        if self.fail:
            raise AuditWriteError("memory sink set to fail")
        self.events.append(dict(event))

    def close(self) -> None:
        pass
