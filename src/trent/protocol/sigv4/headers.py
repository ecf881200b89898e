"""The request headers, indexed once for every SigV4 step that reads them (spec §1.6).

Indexing is a large part of per-request cost, so it happens once (in
``parse_request_auth``) and the index travels in ``ParsedAuth.headers`` to
``verify_signature``: names are lowercased raw bytes, values are decoded only on use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Union

from trent.protocol.sigv4.constants import ENCODE_ERRORS

HeaderList = Sequence[tuple[Union[bytes, str], Union[bytes, str]]]
HeaderInput = Union[HeaderList, Mapping[str, Sequence[str]]]


class LowercaseHeaders(list[tuple[bytes, bytes]]):
    """Header pairs whose names are already lowercase ``bytes`` and values ``bytes``: what
    the HTTP front end (``server/http11.py``, which lowercases each name as it is parsed)
    collects. :func:`index_headers` indexes them with one ``dict()`` call when no name
    repeats, instead of a Python loop over the pairs (~1.3 µs of an Encrypt)."""

    __slots__ = ()


class HeaderIndex:
    """Request headers indexed once, cheaply (this is a large part of per-request cost).

    Keys are the lowercase raw header names (``bytes``, as ASGI gives them); values stay
    raw and are decoded (latin-1, which maps every byte and never fails) only when a step
    needs them: the verifier touches ~4 headers plus the signed ones, not all of them.
    Built only by :func:`index_headers`.
    """

    __slots__ = ("_first", "_dups")

    def __init__(
        self, first: dict[bytes, bytes | str], dups: dict[bytes, list[bytes | str]] | None
    ) -> None:
        self._first = first
        self._dups = dups

    def first(self, name: str | bytes) -> str | None:
        raw = self._first.get(name if type(name) is bytes else header_key(name))
        return None if raw is None else header_text(raw)

    def count(self, name: bytes) -> int:
        """How many times the (lowercase) header ``name`` was sent."""
        if self._dups is not None and name in self._dups:
            return len(self._dups[name])
        return 1 if name in self._first else 0

    def names(self) -> Iterable[bytes]:
        """Every header name sent (lowercase bytes), once each."""
        return self._first.keys()

    def get_all(self, name: str) -> list[str]:
        key = header_key(name)
        if self._dups is not None and key in self._dups:
            return [header_text(v) for v in self._dups[key]]
        raw = self._first.get(key)
        return [] if raw is None else [header_text(raw)]


def header_text(value: bytes | str) -> str:
    return value.decode("latin-1") if type(value) is bytes else str(value)


def header_key(name: bytes | str) -> bytes:
    """Lowercase raw name. str names (from the Authorization header or non-ASGI callers)
    are re-encoded as latin-1, the inverse of how ASGI bytes were decoded."""
    if isinstance(name, (bytes, bytearray)):
        return bytes(name).lower()
    text = str(name).lower()
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", ENCODE_ERRORS)


def index_headers(headers: HeaderInput | HeaderIndex) -> HeaderIndex:
    """ASGI ``[(b"name", b"value"), …]`` (or str pairs, or a mapping name -> values) -> index."""
    if isinstance(headers, HeaderIndex):
        return headers
    if type(headers) is LowercaseHeaders:
        indexed: dict[bytes, bytes | str] = dict(headers)
        if len(indexed) == len(headers):
            return HeaderIndex(indexed, None)
    pairs: Iterable[tuple[bytes | str, bytes | str]]
    if isinstance(headers, Mapping):
        pairs = [(name, v) for name, values in headers.items() for v in values]
    else:
        pairs = headers
    first: dict[bytes, bytes | str] = {}
    dups: dict[bytes, list[bytes | str]] | None = None
    for name, value in pairs:
        key = name.lower() if type(name) is bytes else header_key(name)
        if type(value) is not bytes and type(value) is not str:
            value = header_text(bytes(value)) if isinstance(value, (bytes, bytearray)) else str(value)
        if key in first:
            if dups is None:
                dups = {}
            dups.setdefault(key, [first[key]]).append(value)
        else:
            first[key] = value
    return HeaderIndex(first, dups)
