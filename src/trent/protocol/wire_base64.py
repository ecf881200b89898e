"""Base64 of the JSON protocol's blob members (spec §1.1), on pybase64's SIMD codec.

Every Encrypt and Decrypt decodes one blob from the request and encodes one into the
reply. CPython's ``binascii`` decodes a 1 KiB plaintext's 1,368 characters in ~3 µs and
encodes in ~1 µs; pybase64 (libbase64, SIMD) does each in ~0.3 µs, about 3.5 % of an
Encrypt's whole CPU (issue 16 performance, bench/README.md).

Decoding must keep ``binascii.a2b_base64(strict_mode=True)``'s verdicts exactly: which
inputs are refused (alphabet, padding, data after padding) decides whether the caller
gets a SerializationException. So pybase64 only answers for inputs in canonical shape —
standard alphabet (``validate=True`` refuses anything else), a length that is a multiple
of four, and ``=`` only as one or two final characters — where both decoders accept and
agree; every other input, including anything pybase64 refuses, is decided by ``binascii``
in strict mode as before (tests/unit/protocol/test_wire_base64.py compares the two).
"""

from __future__ import annotations

import binascii

import pybase64


def decode_strict(text: str) -> bytes:
    """``binascii.a2b_base64(text, strict_mode=True)``, faster; raises ``ValueError``
    (``binascii.Error``) for exactly the inputs that refuses."""
    n = len(text)
    if n % 4 == 0 and (n == 0 or _padding_is_final(text, n)):
        try:
            return pybase64.b64decode(text, validate=True)
        except ValueError:
            pass  # not ours to word: binascii decides (and raises its own error)
    return binascii.a2b_base64(text, strict_mode=True)


def _padding_is_final(text: str, n: int) -> bool:
    first = text.find("=")
    return first == -1 or first == n - 1 or (first == n - 2 and text[n - 1] == "=")


def encode(data: bytes) -> str:
    """Standard base64 with padding, no newlines (what ``base64.b64encode`` gives)."""
    return pybase64.b64encode_as_string(data)
