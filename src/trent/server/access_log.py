"""One log line per request (issue 20): ``--log-format text|json``, ``--access-log``.

Fields: time, request id, operation, HTTP status, AWS error code, duration, principal
ARN, access key id, source IP, user agent — what CloudTrail also shows, never a
request or response body, a header value other than the user agent, or a secret
(access key ids are identifiers, not secrets: CloudTrail logs them too).

The lines of one event-loop tick are written with one ``write(2)`` to standard error
(like the audit's group commit), so a line costs about a microsecond and no lock: the
server records from its event loop thread only. Other log records (warnings, errors)
go through :mod:`logging`; :class:`JsonFormatter` gives them the same JSON shape.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import Any

import orjson

STDERR = 2


class _Clock:
    """ISO-8601 UTC time with milliseconds; the seconds part is formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def iso(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1000):03d}Z"


class AccessLog:
    def __init__(self, log_format: str = "text", fd: int = STDERR) -> None:
        if log_format not in ("text", "json"):
            raise ValueError(f"unknown log format {log_format!r} (text or json)")
        self._json = log_format == "json"
        self._fd = fd
        self._pending: list[bytes] = []
        self._clock = _Clock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def record(
        self, *, request_id: str, operation: str, status: int, code: str | None, seconds: float,
        principal: str | None = None, access_key_id: str | None = None, source_ip: str | None = None,
        user_agent: str | None = None,
    ) -> None:
        at = self._clock.iso(time.time())
        if self._json:
            line = orjson.dumps({
                "time": at, "level": "info", "logger": "trent.access", "requestId": request_id,
                "operation": operation, "status": status, "errorCode": code, "durationMs": round(seconds * 1000, 3),
                "principal": principal, "accessKeyId": access_key_id, "sourceIp": source_ip, "userAgent": user_agent,
            }) + b"\n"
        else:
            line = (f"{at} {source_ip or '-'} {operation} {status} {code or '-'} {seconds * 1000:.2f}ms "
                    f"{principal or '-'} {request_id}\n").encode("utf-8", "replace")
        pending = self._pending
        pending.append(line)
        if len(pending) == 1:
            try:
                loop = self._loop or asyncio.get_running_loop()
            except RuntimeError:  # not on a loop (tests, shutdown): write now
                self.flush()
                return
            self._loop = loop
            loop.call_soon(self.flush)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            try:
                os.write(self._fd, b"".join(pending))
            except OSError:  # a closed stderr must not take requests down
                pass


class JsonFormatter(logging.Formatter):
    """Everything else Trent logs, as one JSON object per line (``--log-format json``)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": _Clock().iso(record.created), "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(payload).decode()


def configure_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))
