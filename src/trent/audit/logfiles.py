"""CloudTrail log files: key layout and body (spec cloudtrail.md §1; issue 16).

Key::

    [prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 random characters>.json.gz

Body: gzip of the UTF-8 JSON ``{"Records": [event, ...], "trentChain": {...}}``. The
records are the events' canonical bytes (``domain.audit_chain``), spliced in verbatim, in
sequence order, one per line (JSON allows the newlines; canonical bytes never contain
one), so a verifier recovers each record's exact bytes by splitting lines instead of
parsing and re-serializing every event::

    {"Records":[
    {...event 1...},
    {...event n...}
    ],"trentChain":{...}}

``trentChain`` — a Trent extension CloudTrail readers ignore — says where the file sits
in its trail's chain, so the events can be verified from the bucket alone::

    {"trail": "<trail ARN>", "firstSequence": n, "lastSequence": m,
     "previousHash": "<hex hash_{n-1}>", "lastHash": "<hex hash_m>"}

The gzip stream is deterministic (no name, mtime 0): a delivery redone after a crash
writes the very same bytes under the same key.
"""

from __future__ import annotations

import gzip
import hashlib
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from trent.domain.audit_chain import StoredEvent

UNIQUE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UNIQUE_LENGTH = 16


def trail_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{name}"


def unique_string(random_bytes: bytes) -> str:
    """16 characters from 16 random bytes (spec §1: they prevent overwrites)."""
    return "".join(UNIQUE_ALPHABET[b % len(UNIQUE_ALPHABET)] for b in random_bytes[:UNIQUE_LENGTH])


def log_file_key(prefix: str | None, account_id: str, region: str, delivered_at: float, unique: str) -> str:
    t = time.gmtime(int(delivered_at))
    key = (
        f"AWSLogs/{account_id}/CloudTrail/{region}/{t.tm_year:04d}/{t.tm_mon:02d}/{t.tm_mday:02d}/"
        f"{account_id}_CloudTrail_{region}_{time.strftime('%Y%m%dT%H%MZ', t)}_{unique}.json.gz"
    )
    return f"{prefix}/{key}" if prefix else key


@dataclass(frozen=True, slots=True)
class ChainHeader:
    trail: str
    first_sequence: int
    last_sequence: int
    previous_hash: bytes
    last_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "trail": self.trail,
            "firstSequence": self.first_sequence,
            "lastSequence": self.last_sequence,
            "previousHash": self.previous_hash.hex(),
            "lastHash": self.last_hash.hex(),
        }


def build(events: Sequence[StoredEvent], trail: str, previous_hash: bytes) -> bytes:
    """The uncompressed body of a log file holding ``events`` (consecutive, in order)."""
    if not events:
        raise ValueError("a log file holds at least one event")
    header = ChainHeader(trail, events[0].sequence, events[-1].sequence, previous_hash, events[-1].chain_hash)
    return b"".join((
        _HEAD, b",\n".join(e.body for e in events), b'\n],"trentChain":', orjson.dumps(header.to_json()), b"}",
    ))


_HEAD = b'{"Records":[\n'
_TAIL = b'\n],"trentChain":'


def compress(body: bytes) -> bytes:
    """Deterministic gzip (no file name, mtime 0)."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def decompress(data: bytes) -> bytes:
    """Inflate one gzip member; ValueError if it is not exactly that (as the validator
    reports "unexpected data after end of compressed stream")."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        body = inflater.decompress(data) + inflater.flush()
    except zlib.error as exc:
        raise ValueError(f"not a gzip stream: {exc}") from None
    if inflater.unused_data or not inflater.eof:
        raise ValueError("unexpected data after the end of the compressed stream" if inflater.unused_data
                         else "truncated gzip stream")
    return body


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class ParsedLogFile:
    records: list[bytes]  # each record's canonical bytes, as the chain hashes them
    chain: ChainHeader | None
    event_ids: list[str]


def parse(body: bytes) -> ParsedLogFile:
    """Records (canonical bytes) and chain header of an uncompressed log file; ValueError
    if it is not a log file. A file in Trent's one-record-per-line form is split, not
    parsed; anything else (edited by hand, another writer) is parsed and each record
    re-serialized canonically."""
    fast = _split_lines(body)
    if fast is not None:
        return fast
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Records"), list):
        raise ValueError('no "Records" list')
    records = document["Records"]
    chain = document.get("trentChain")
    header = None
    if isinstance(chain, dict):
        try:
            header = ChainHeader(
                str(chain["trail"]), int(chain["firstSequence"]), int(chain["lastSequence"]),
                bytes.fromhex(chain["previousHash"]), bytes.fromhex(chain["lastHash"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed trentChain: {exc}") from None
    dumps = orjson.dumps
    return ParsedLogFile(
        [dumps(r) for r in records],
        header,
        [str(r.get("eventID", "")) if isinstance(r, dict) else "" for r in records],
    )


def _split_lines(body: bytes) -> ParsedLogFile | None:
    """Trent's own layout, split in C: ``_HEAD``, records joined by ``,\\n``, ``\\n``, the
    trentChain line. No per-record Python (no comma stripped and record copied one by one:
    that was a fifth of a verify worker's time); None (parse instead) for anything else,
    e.g. a record holding a raw newline: records times ``,\\n`` must be every newline."""
    if not body.startswith(_HEAD):
        return None
    end = body.rfind(_TAIL)
    if end < len(_HEAD) - 1:
        return None
    tail = body[end + 1 :]
    if b"\n" in tail or not tail.endswith(b"}"):
        return None
    middle = body[len(_HEAD) : end]
    records = middle.split(b",\n")
    if not middle or middle.count(b"\n") != len(records) - 1:
        return None
    try:
        chain = orjson.loads(tail[len(_TAIL) - 1 : -1])
        header = ChainHeader(str(chain["trail"]), int(chain["firstSequence"]), int(chain["lastSequence"]),
                             bytes.fromhex(chain["previousHash"]), bytes.fromhex(chain["lastHash"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return ParsedLogFile(records, header, [])
