"""The metadata layout (client-wire-formats.md §4.2): what each format writes, where, and
which inconsistent or malformed maps are refused."""

from __future__ import annotations

import base64
import json

import pytest

from trent.s3ec import metadata as md
from trent.s3ec.errors import DecryptionFailed, NotEncrypted
from trent.s3ec.metadata import ContentMetadata, WrapAlg
from trent.s3ec.suites import GCM, KC_GCM, FormatVersion

V3 = ContentMetadata(FormatVersion.V3, KC_GCM, WrapAlg.KMS_CONTEXT, b"\x01" * 40,
                     {"aws:x-amz-cek-alg": "115", "team": "a"}, message_id=b"\x02" * 28, commitment=b"\x03" * 28)
V2 = ContentMetadata(FormatVersion.V2, GCM, WrapAlg.AES_GCM, b"\x04" * 60, {"kid": "1"}, iv=b"\x05" * 12,
                     plaintext_length=7)


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def test_v3_layout_and_instruction_split() -> None:
    obj, inst = V3.render(instruction_file=False)
    assert obj == {"x-amz-c": "115", "x-amz-d": b64(b"\x03" * 28), "x-amz-i": b64(b"\x02" * 28),
                   "x-amz-3": b64(b"\x01" * 40), "x-amz-w": "12",
                   "x-amz-t": '{"aws:x-amz-cek-alg":"115","team":"a"}'} and inst is None
    obj, inst = V3.render(instruction_file=True)
    assert set(obj) == {"x-amz-c", "x-amz-d", "x-amz-i"} and set(inst or {}) == {"x-amz-3", "x-amz-w", "x-amz-t"}
    assert md.needs_instruction_file(obj)
    merged = md.merge_instruction_file(obj, json.dumps(inst).encode())
    assert md.parse(merged) == V3
    raw = ContentMetadata(FormatVersion.V3, KC_GCM, WrapAlg.RSA_OAEP_SHA1, b"k", {}, message_id=b"\x02" * 28,
                          commitment=b"\x03" * 28)
    obj, _ = raw.render(instruction_file=False)
    assert obj["x-amz-w"] == "22" and obj["x-amz-m"] == "{}" and "x-amz-t" not in obj


def test_v2_layout() -> None:
    obj, inst = V2.render(instruction_file=False)
    assert obj == {"x-amz-key-v2": b64(b"\x04" * 60), "x-amz-wrap-alg": "AES/GCM", "x-amz-cek-alg": "AES/GCM/NoPadding",
                   "x-amz-tag-len": "128", "x-amz-iv": b64(b"\x05" * 12), "x-amz-matdesc": '{"kid":"1"}',
                   "x-amz-unencrypted-content-length": "7"}
    obj, inst = V2.render(instruction_file=True)
    assert obj == {"x-amz-unencrypted-content-length": "7"} and inst is not None and "x-amz-key-v2" in inst
    assert md.parse(md.merge_instruction_file(obj, json.dumps(inst).encode())) == V2


def test_nothing_is_not_encrypted() -> None:
    with pytest.raises(NotEncrypted):
        md.parse({"content-type": "x"})


@pytest.mark.parametrize("change", [
    {"x-amz-key-v2": "AAAA"},                 # two data-key entries
    {"x-amz-c": "114"},                       # unknown v3 cipher
    {"x-amz-w": "99"},                        # unknown wrap code
    {"x-amz-d": b64(b"\x03" * 27)},           # short commitment
    {"x-amz-i": "not base64!"},
    {"x-amz-t": "[1, 2]"},                    # context is not an object of strings
    {"x-amz-t": '{"a": 1}'},
])
def test_v3_malformed_is_opaque(change: dict[str, str]) -> None:
    obj, _ = V3.render(instruction_file=False)
    with pytest.raises(DecryptionFailed):
        md.parse({**obj, **change})


@pytest.mark.parametrize("change", [
    {"x-amz-cek-alg": "AES/CTR/NoPadding"}, {"x-amz-tag-len": "96"}, {"x-amz-iv": b64(b"\x05" * 16)},
    {"x-amz-wrap-alg": "rot13"}, {"x-amz-i": b64(b"\x02" * 28)},  # v2 beside v3 content keys
])
def test_v2_malformed_is_opaque(change: dict[str, str]) -> None:
    obj, _ = V2.render(instruction_file=False)
    with pytest.raises(DecryptionFailed):
        md.parse({**obj, **change})


def test_instruction_file_confusion_is_refused() -> None:
    obj, inst = V3.render(instruction_file=True)
    assert inst is not None
    for bad in ({**inst, "x-amz-c": "115"}, {**inst, "x-amz-unknown": "1"}, ["x"], {"x-amz-3": 1}):
        with pytest.raises(DecryptionFailed):
            md.merge_instruction_file(obj, json.dumps(bad).encode())
    with pytest.raises(DecryptionFailed):
        md.merge_instruction_file(obj, b"\xff not json")
    v2obj, v2inst = V2.render(instruction_file=True)
    assert v2inst is not None
    with pytest.raises(DecryptionFailed):  # v2 content keys left in the object while the key is in the file
        md.merge_instruction_file({**v2obj, "x-amz-iv": v2inst["x-amz-iv"]}, json.dumps(v2inst).encode())


def test_v1_is_parsed_for_legacy_reads() -> None:
    parsed = md.parse({"x-amz-key": b64(b"k" * 40), "x-amz-iv": b64(b"i" * 16), "x-amz-matdesc": "{}",
                       "x-amz-wrap-alg": "AESWrap", "x-amz-unencrypted-content-length": "3"})
    assert parsed.version is FormatVersion.V1 and parsed.suite.legacy and parsed.wrap_alg.legacy
    with pytest.raises(DecryptionFailed):  # v1 without a wrapping algorithm (AES/ECB keys): not supported
        md.parse({"x-amz-key": b64(b"k" * 40), "x-amz-iv": b64(b"i" * 16), "x-amz-matdesc": "{}"})
