"""What an S3 handler answers: status, headers, and a body in memory or streamed.

``stream`` (GetObject): the plaintext, produced segment by segment by the use case's
lazy iterator *after* every check and the KMS Decrypt passed; the server writes it as it
comes (``content_length`` is then the length it will have). An error raised from the
stream happens after the headers left: the server aborts the connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from trent.protocol.s3.xml import XML_CONTENT_TYPE


@dataclass(slots=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: bytes = XML_CONTENT_TYPE
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_length: int | None = None
    # The body after ``body``, piece by piece. A piece must not change once yielded: the
    # server hands it to the socket as it is, and writes it out later (http11._pump).
    stream: Iterator[bytes | memoryview] | None = None

    def header(self, name: str, value: str) -> None:
        self.headers.append((name.lower().encode("latin-1"), value.encode("latin-1", "replace")))
