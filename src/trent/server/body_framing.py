"""What a request's head says about its body, read in one pass over its headers.

A request body is framed by Transfer-Encoding or Content-Length (RFC 9112 §6.3), and a
client that sends ``Expect: 100-continue`` waits for a ``100 Continue`` before sending it
(RFC 9110 §10.1.1). The HTTP front door (``http11.py``) asks four questions of these
fields for every request: is the declared body too large to read whole; is it an S3
upload small enough to read whole rather than stream through a pipe; does the client
wait for 100; does an Upgrade request carry a body. They are answered from one reading.

llhttp has already refused the heads that would make the reading ambiguous: a second
Content-Length ("Duplicate Content-Length"), and a Content-Length beside a
Transfer-Encoding (RFC 9112 §6.3 lets a server reject it; llhttp does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

_FRAMING_FIELDS = frozenset({b"content-length", b"transfer-encoding", b"expect"})


class BodyFraming(NamedTuple):
    """A NamedTuple: one per request on every request's path."""

    content_length: bytes | None = None  # as sent
    chunked: bool = False  # a Transfer-Encoding, whatever its codings
    expect: bool = False  # an Expect header, whatever its value
    expects_continue: bool = False  # one Expect header is 100-continue

    @classmethod
    def of(cls, headers: Iterable[tuple[bytes, bytes]]) -> BodyFraming:
        """``headers``: lowercase names, as ``http11.py`` collects them."""
        length = None
        chunked = expect = expects_continue = False
        for name, value in headers:
            if name not in _FRAMING_FIELDS:  # most headers: one set lookup each
                continue
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
            else:
                expect = True
                expects_continue = expects_continue or value.lower() == b"100-continue"
        return cls(length, chunked, expect, expects_continue)

    @property
    def announces_body(self) -> bool:
        """RFC 9112 §6.3: a Transfer-Encoding, or a Content-Length other than 0 (one that is
        not a number announces a body whose end is unknown)."""
        if self.chunked:
            return True
        length = self.content_length
        return length is not None and (not length.strip().isdigit() or int(length) != 0)

    def exceeds(self, limit: int) -> bool:
        """A declared length over ``limit``. One that is not a number counts as over: the
        body cannot be read whole under a limit it does not state."""
        if self.content_length is None:
            return False
        try:
            return int(self.content_length) > limit
        except ValueError:
            return True

    def read_whole(self, limit: int) -> bool:
        """A declared length of at most ``limit``, no Expect header (with 100-continue the
        client waits to send the body until the request is authorized: only a pipe can do
        that, except for the uploads ``HttpServer.continues_at_once`` answers at once) and
        no chunked transfer coding: an S3 upload read whole before its handler starts."""
        length = self.content_length
        return (not self.expect and not self.chunked and length is not None and length.isdigit()
                and int(length) <= limit)
