"""The S3EC content metadata: where it lives and how it is spelled (client-wire-formats.md §4.2).

Keys are S3 user-metadata names (on the wire ``x-amz-meta-<key>``; boto3 shows them without
the prefix, lower-cased) or, with an instruction file, members of the JSON object that is the
whole body of ``<key>.instruction``::

    v2 (all in metadata, or all in the instruction file)
        x-amz-key-v2    base64 encrypted data key
        x-amz-wrap-alg  kms+context | AES/GCM | RSA-OAEP-SHA1 (legacy: kms, AESWrap, RSA/ECB/...)
        x-amz-cek-alg   AES/GCM/NoPadding (legacy AES/CBC/PKCS5Padding)
        x-amz-tag-len   128 (GCM only)
        x-amz-iv        base64 content IV
        x-amz-matdesc   JSON: the KMS encryption context, or the raw key's material description
        x-amz-unencrypted-content-length   (object metadata only; informative)
    v3 (x-amz-c/d/i always in the object's metadata; the rest may move to the file)
        x-amz-c  115      x-amz-d  base64 commitment (28)    x-amz-i  base64 message ID (28)
        x-amz-3  base64 encrypted data key    x-amz-w  02 AES/GCM | 12 kms+context | 22 RSA-OAEP-SHA1
        x-amz-t  KMS encryption context JSON (kms+context)  x-amz-m  material description JSON (raw)
    v1 (legacy, decrypt-only)
        x-amz-key, x-amz-matdesc, x-amz-iv, x-amz-wrap-alg; AES/CBC content

Version detection is by the data-key entry (x-amz-key / -key-v2 / x-amz-3). More than one,
v2 keys beside v3 content keys, v3 content keys inside an instruction file, or v1/v2 content
keys left in the object's metadata when an instruction file is used are the "format
confusion" an attacker would try: all of it, and anything malformed, is the opaque
:class:`DecryptionFailed`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import ConfigurationError, DecryptionFailed, NotEncrypted
from .suites import (
    BY_CIPHER_NAME,
    BY_V3_ID,
    CBC,
    COMMITMENT_LEN,
    MESSAGE_ID_LEN,
    ContentSuite,
    FormatVersion,
)

INSTRUCTION_SUFFIX = ".instruction"
#: user metadata Java and Amazon's clients put on the instruction-file object itself
INSTRUCTION_MARKER = "x-amz-crypto-instr-file"

KEY_V1, KEY_V2, KEY_V3 = "x-amz-key", "x-amz-key-v2", "x-amz-3"
WRAP_ALG, CEK_ALG, TAG_LEN, IV, MATDESC = "x-amz-wrap-alg", "x-amz-cek-alg", "x-amz-tag-len", "x-amz-iv", "x-amz-matdesc"
PLAINTEXT_LENGTH = "x-amz-unencrypted-content-length"
V3_CIPHER, V3_COMMITMENT, V3_MESSAGE_ID = "x-amz-c", "x-amz-d", "x-amz-i"
V3_WRAP, V3_CONTEXT, V3_MATDESC = "x-amz-w", "x-amz-t", "x-amz-m"

V3_OBJECT_KEYS = frozenset({V3_CIPHER, V3_COMMITMENT, V3_MESSAGE_ID})
V12_CONTENT_KEYS = frozenset({CEK_ALG, IV, WRAP_ALG})
#: what an instruction file may contain (Amazon's client refuses anything else)
INSTRUCTION_KEYS = frozenset({KEY_V1, KEY_V2, WRAP_ALG, CEK_ALG, TAG_LEN, IV, MATDESC, INSTRUCTION_MARKER,
                              V3_CIPHER, KEY_V3, V3_MATDESC, V3_CONTEXT, V3_WRAP, V3_COMMITMENT, V3_MESSAGE_ID})


class WrapAlg(enum.StrEnum):
    KMS_CONTEXT = "kms+context"
    AES_GCM = "AES/GCM"
    RSA_OAEP_SHA1 = "RSA-OAEP-SHA1"
    # legacy, decrypt-only
    KMS = "kms"
    AES_WRAP = "AESWrap"
    RSA_OAEP_SHA256 = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding"

    @property
    def legacy(self) -> bool:
        return self in (WrapAlg.KMS, WrapAlg.AES_WRAP, WrapAlg.RSA_OAEP_SHA256)


V3_WRAP_CODES = {"02": WrapAlg.AES_GCM, "12": WrapAlg.KMS_CONTEXT, "22": WrapAlg.RSA_OAEP_SHA1}
_V3_CODE_OF = {v: k for k, v in V3_WRAP_CODES.items()}


@dataclass(frozen=True, slots=True)
class ContentMetadata:
    """Everything the format stores beside the ciphertext."""

    version: FormatVersion
    suite: ContentSuite
    wrap_alg: WrapAlg
    encrypted_data_key: bytes = field(repr=False)
    #: x-amz-matdesc (v1/v2), x-amz-t (v3 kms+context) or x-amz-m (v3 raw keyrings)
    description: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    iv: bytes = b""  # v1/v2
    message_id: bytes = b""  # v3
    commitment: bytes = field(default=b"", repr=False)  # v3
    plaintext_length: int | None = None

    def render(self, *, instruction_file: bool) -> tuple[dict[str, str], dict[str, str] | None]:
        """(object user metadata, instruction-file map or None)."""
        b64 = _b64
        if self.version is FormatVersion.V2:
            material = {KEY_V2: b64(self.encrypted_data_key), WRAP_ALG: str(self.wrap_alg),
                        CEK_ALG: self.suite.cipher_name, TAG_LEN: str(self.suite.tag_len * 8),
                        IV: b64(self.iv), MATDESC: to_json(self.description)}
            content: dict[str, str] = {}
        elif self.version is FormatVersion.V3:
            content = {V3_CIPHER: self.suite.cek_alg, V3_COMMITMENT: b64(self.commitment),
                       V3_MESSAGE_ID: b64(self.message_id)}
            material = {KEY_V3: b64(self.encrypted_data_key), V3_WRAP: _V3_CODE_OF[self.wrap_alg]}
            material[V3_CONTEXT if self.wrap_alg is WrapAlg.KMS_CONTEXT else V3_MATDESC] = to_json(self.description)
        else:
            raise ConfigurationError("format v1 is decrypt-only")
        if self.plaintext_length is not None and self.version is FormatVersion.V2:
            content[PLAINTEXT_LENGTH] = str(self.plaintext_length)
        if instruction_file:
            return content, material
        return {**content, **material}, None


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def to_json(m: Mapping[str, str]) -> str:
    # ensure_ascii keeps S3 metadata ASCII; compact like Java's writer
    return json.dumps(dict(m), separators=(",", ":"), sort_keys=True)


def has_data_key(meta: Mapping[str, str]) -> bool:
    return any(k in meta for k in (KEY_V1, KEY_V2, KEY_V3))


def needs_instruction_file(meta: Mapping[str, str]) -> bool:
    return not has_data_key(meta)


def merge_instruction_file(object_meta: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The metadata to parse when the data key lives in an instruction file."""
    try:
        inst = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise DecryptionFailed() from None
    if not isinstance(inst, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in inst.items()):
        raise DecryptionFailed()
    if set(inst) - INSTRUCTION_KEYS or set(inst) & V3_OBJECT_KEYS:
        raise DecryptionFailed()
    merged = {**inst, **{k: v for k, v in object_meta.items() if k in INSTRUCTION_KEYS or k == PLAINTEXT_LENGTH}}
    if (KEY_V1 in merged or KEY_V2 in merged) and V12_CONTENT_KEYS & set(object_meta):
        raise DecryptionFailed()
    return merged


def parse(meta: Mapping[str, str]) -> ContentMetadata:
    """Parse the merged metadata map. Anything wrong is the opaque DecryptionFailed."""
    present = [k for k in (KEY_V1, KEY_V2, KEY_V3) if k in meta]
    if not present:
        raise NotEncrypted("no S3 Encryption Client metadata")
    if len(present) > 1:
        raise DecryptionFailed()
    try:
        if present[0] == KEY_V3:
            return _parse_v3(meta)
        if V3_OBJECT_KEYS & set(meta):
            raise ValueError("v2 keys beside v3 content keys")
        return _parse_v12(meta, FormatVersion.V1 if present[0] == KEY_V1 else FormatVersion.V2)
    except (KeyError, ValueError, binascii.Error):
        raise DecryptionFailed() from None


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _description(text: str | None) -> Mapping[str, str]:
    if text is None:
        return MappingProxyType({})
    d = json.loads(text)
    if not isinstance(d, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in d.items()):
        raise ValueError("description is not a JSON object of strings")
    return MappingProxyType(d)


def _length(meta: Mapping[str, str]) -> int | None:
    text = meta.get(PLAINTEXT_LENGTH)
    return int(text) if text is not None and text.isdigit() else None


def _parse_v12(meta: Mapping[str, str], version: FormatVersion) -> ContentMetadata:
    if version is FormatVersion.V1:
        suite = CBC
        edk = _unb64(meta[KEY_V1])
    else:
        suite = BY_CIPHER_NAME[meta[CEK_ALG]]
        edk = _unb64(meta[KEY_V2])
        if suite.tag_len and meta.get(TAG_LEN, str(suite.tag_len * 8)) != str(suite.tag_len * 8):
            raise ValueError("tag length")
    wrap = meta.get(WRAP_ALG)
    if wrap is None:
        raise ValueError("no wrapping algorithm")  # v1 AES/ECB-wrapped keys: not supported
    iv = _unb64(meta[IV])
    if len(iv) != suite.iv_len:
        raise ValueError("iv length")
    return ContentMetadata(version, suite, WrapAlg(wrap), edk, _description(meta.get(MATDESC)), iv=iv,
                           plaintext_length=_length(meta))


def _parse_v3(meta: Mapping[str, str]) -> ContentMetadata:
    suite = BY_V3_ID[meta[V3_CIPHER]]
    wrap = V3_WRAP_CODES[meta[V3_WRAP]]
    message_id, commitment = _unb64(meta[V3_MESSAGE_ID]), _unb64(meta[V3_COMMITMENT])
    if len(message_id) != MESSAGE_ID_LEN or len(commitment) != COMMITMENT_LEN:
        raise ValueError("message id / commitment length")
    description = _description(meta.get(V3_CONTEXT if wrap is WrapAlg.KMS_CONTEXT else V3_MATDESC))
    return ContentMetadata(FormatVersion.V3, suite, wrap, _unb64(meta[KEY_V3]), description,
                           message_id=message_id, commitment=commitment, plaintext_length=_length(meta))
