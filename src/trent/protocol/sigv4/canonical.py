"""What gets signed: the canonical request and the string to sign (spec §1.6 steps 4-5).

Performance: the SignedHeaders plan (sorted names and their index keys) is memoized,
and :func:`canonical_headers` reads the :class:`HeaderIndex` dicts directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import quote

from trent.protocol.sigv4.constants import ALGORITHM, ENCODE_ERRORS
from trent.protocol.sigv4.headers import (
    HeaderIndex,
    HeaderInput,
    header_key,
    header_text,
    index_headers,
)


def canonical_path(path: str) -> str:
    """Canonical URI. KMS always uses ``/``; other paths are percent-encoded like botocore."""
    if path in ("", "/"):
        return "/"
    return quote(path, safe="/~")


def canonical_query(query: str) -> str:
    """Canonical query string: ``k=v`` pairs sorted (KMS sends none, spec §1.1)."""
    if not query:
        return ""
    pairs = sorted(p.partition("=")[::2] for p in query.split("&"))
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_headers(headers: HeaderInput | HeaderIndex, signed_headers: Sequence[str]) -> str:
    """Canonical header block (without the trailing blank line).

    Each signed header: lowercase name, ``:``, its values trimmed and comma-joined, in
    sorted order (spec §1.6 step 4). A signed header missing from the request contributes
    an empty value (the signature will then simply not match).
    """
    idx = index_headers(headers)
    first, dups = idx._first, idx._dups  # noqa: SLF001 - hot path, HeaderIndex's own dicts
    lines = []
    for name, key in _signed_plan(tuple(signed_headers)):
        if dups is not None and key in dups:
            # repeated header: values comma-joined in arrival order
            value = ",".join(_trimall(header_text(v)) for v in dups[key])
        else:
            raw = first.get(key)
            if raw is None:
                value = ""
            else:  # _trimall(header_text(raw)), inlined: this loop runs for every signed header
                value = " ".join((raw.decode("latin-1") if isinstance(raw, bytes) else raw).split())
        lines.append(name + ":" + value)
    return "\n".join(lines)


_plan_memo: dict[tuple[str, ...], tuple[tuple[str, bytes], ...]] = {}


def _signed_plan(signed_headers: tuple[str, ...]) -> tuple[tuple[str, bytes], ...]:
    """SignedHeaders -> sorted (lowercase name, index key) pairs; memoized (bounded)
    because a client sends the same SignedHeaders list on every call."""
    plan = _plan_memo.get(signed_headers)
    if plan is None:
        plan = tuple((name, header_key(name)) for name in sorted(h.lower() for h in signed_headers))
        if len(_plan_memo) >= 256:
            _plan_memo.clear()
        _plan_memo[signed_headers] = plan
    return plan


def _trimall(value: str) -> str:
    """Trimall (spec §1.6 step 4) exactly as botocore does it: strip, and collapse every
    whitespace run (str.split() semantics: tabs, \\x1c-\\x1f, NBSP, … too) to one space."""
    return " ".join(value.split())


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: HeaderInput | HeaderIndex,
    signed_headers: Sequence[str],
    payload_sha256_hex: str,
    *,
    path_as_sent: bool = False,
) -> str:
    """Spec §1.6 step 4. ``path_as_sent``: S3's rule, the URI as sent (``verifier.py``)."""
    return "\n".join(
        (
            method.upper(),
            (path or "/") if path_as_sent else canonical_path(path),
            canonical_query(query),
            canonical_headers(headers, signed_headers) + "\n",
            ";".join(signed_headers),
            payload_sha256_hex,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    """Spec §1.6 step 5; ``scope`` is ``<date>/<region>/<service>/aws4_request``."""
    digest = hashlib.sha256(canonical_request.encode("utf-8", ENCODE_ERRORS)).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
