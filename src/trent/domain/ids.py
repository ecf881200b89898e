"""Key and alias identifiers: parse, format, validate (spec §2).

A caller names a key four ways (key id, key ARN, alias name, alias ARN). This
module only *parses*; resolving a reference to a stored key (and the
NotFoundException texts of spec §2.2) is the service's job.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from trent.domain.randomness import pooled_random

KEY_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MRK_ID_RE = re.compile(r"^mrk-[0-9a-f]{32}$")
# arn:<partition>:kms:<region>:<account>:<resource>
ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]*):(?P<account>[0-9]*):(?P<resource>.+)$")
ALIAS_PREFIX = "alias/"
RESERVED_ALIAS_PREFIX = "alias/aws/"
# spec §2.1: after the prefix only letters, digits, '/', '_' and '-'.
ALIAS_NAME_CHARS_RE = re.compile(r"^alias/[A-Za-z0-9/_-]+$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")


def is_key_id(value: str) -> bool:
    return bool(KEY_ID_RE.match(value) or MRK_ID_RE.match(value))


# The variant nibble (RFC 9562 §4.1: binary 10xx) for each hex digit of the random byte.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid4_from(random16: bytes) -> str:
    """RFC 9562 version-4 UUID text from 16 random bytes: the version nibble becomes 4, the
    variant's two top bits 10; formatted from one hex string (0.39 µs, against 0.71 µs
    for bit operations on a bytearray and several µs for ``str(uuid4())``)."""
    h = random16.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def new_uuid4(rng: Callable[[int], bytes] | None = None) -> str:
    """A fresh random UUID; ``rng(16)`` supplies the bytes when given (tests inject one),
    else the operating system's CSPRNG through :func:`trent.domain.randomness.pooled_random`
    (one getrandom(2) per 256 ids instead of one per id; each request takes two)."""
    return uuid4_from(pooled_random(16) if rng is None else rng(16))


def partition_of_region(region: str) -> str:
    """The ARN partition a region belongs to (China and GovCloud have their own)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def key_arn(partition: str, region: str, account_id: str, key_id: str) -> str:
    return f"arn:{partition}:kms:{region}:{account_id}:key/{key_id}"


def alias_arn(partition: str, region: str, account_id: str, alias_name: str) -> str:
    return f"arn:{partition}:kms:{region}:{account_id}:{alias_name}"


RefKind = Literal["key_id", "key_arn", "alias_name", "alias_arn", "malformed"]


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A parsed KeyId parameter. ``raw`` is exactly what the caller sent."""

    raw: str
    kind: RefKind
    key_id: str | None = None  # for key_id / key_arn
    alias_name: str | None = None  # for alias_name / alias_arn ("alias/...")
    region: str | None = None  # from an ARN
    account_id: str | None = None  # from an ARN
    partition: str | None = None

    @property
    def is_alias(self) -> bool:
        return self.kind in ("alias_name", "alias_arn")


@functools.lru_cache(maxsize=16384)
def parse_key_ref(raw: str) -> KeyRef:
    """Classify a KeyId value (spec §2.2). Never raises. Pure, so memoized: the same
    few key ids arrive on every request."""
    if raw.startswith("arn:"):
        m = ARN_RE.match(raw)
        if m is None:
            return KeyRef(raw, "malformed")
        resource = m["resource"]
        common = {"region": m["region"], "account_id": m["account"], "partition": m["partition"]}
        if resource.startswith("key/"):
            return KeyRef(raw, "key_arn", key_id=resource[4:], **common)
        if resource.startswith(ALIAS_PREFIX):
            return KeyRef(raw, "alias_arn", alias_name=resource, **common)
        return KeyRef(raw, "malformed")
    if raw.startswith(ALIAS_PREFIX):
        return KeyRef(raw, "alias_name", alias_name=raw)
    if is_key_id(raw):
        return KeyRef(raw, "key_id", key_id=raw)
    return KeyRef(raw, "malformed")
