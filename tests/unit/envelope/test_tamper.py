"""Tampering: every byte of a message, flipped, truncated or extended -> DecryptionFailed.

Regions (header body, EDK, header auth, frames, tags, final frame, footer) are all covered
by flipping *every* byte of small multi-frame messages; no other exception type may escape,
and nothing of a frame is released before its tag verified.
"""

from __future__ import annotations

import io

import pytest

from trent import envelope as ev

PT = bytes(range(256)) * 2  # 512 bytes -> 4 regular frames of 128 + an empty final frame


@pytest.fixture(scope="module", params=[0x0478, 0x0578])
def message(request: pytest.FixtureRequest) -> tuple[ev.RawAesKeyring, bytes]:
    kr = ev.RawAesKeyring("trent-test", "aes-key-1", bytes(range(32)))
    ct = ev.encrypt(PT, keyring=kr, suite=ev.suite_by_id(request.param), frame_length=128,
                    encryption_context={"dept": "x"}).ciphertext
    return kr, ct


def _rejects(kr: ev.RawAesKeyring, data: bytes) -> None:
    with pytest.raises(ev.DecryptionFailed) as info:
        ev.decrypt(data, keyring=kr)
    assert str(info.value) == "message could not be decrypted"
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_every_flipped_byte_is_rejected(message: tuple[ev.RawAesKeyring, bytes]) -> None:
    kr, ct = message
    assert ev.decrypt(ct, keyring=kr).plaintext == PT
    for i in range(len(ct)):
        for mask in (0x01, 0x80):
            bad = bytearray(ct)
            bad[i] ^= mask
            try:
                _rejects(kr, bytes(bad))
            except AssertionError:  # pragma: no cover - names the offending byte
                raise AssertionError(f"byte {i} mask {mask:#x} not rejected") from None


def test_every_truncation_is_rejected(message: tuple[ev.RawAesKeyring, bytes]) -> None:
    kr, ct = message
    for n in range(len(ct)):
        _rejects(kr, ct[:n])


def test_trailing_bytes_are_rejected(message: tuple[ev.RawAesKeyring, bytes]) -> None:
    kr, ct = message
    _rejects(kr, ct + b"\x00")


def test_reordered_frames_are_rejected(message: tuple[ev.RawAesKeyring, bytes]) -> None:
    kr, ct = message
    body_start = len(ct) - (4 * 160 + 40) - (105 if len(ct) > 900 else 0)
    f1, f2 = ct[body_start : body_start + 160], ct[body_start + 160 : body_start + 320]
    _rejects(kr, ct[:body_start] + f2 + f1 + ct[body_start + 320 :])


def test_no_plaintext_of_a_bad_frame_is_released(message: tuple[ev.RawAesKeyring, bytes]) -> None:
    kr, ct = message
    bad = bytearray(ct)
    frame3_tag = len(ct) - (105 if ct[1:3] == b"\x05\x78" else 0) - 40 - 160 - 1
    bad[frame3_tag] ^= 1  # last tag byte of the 4th regular frame
    sink = io.BytesIO()
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt_stream(io.BytesIO(bytes(bad)), sink, keyring=kr)
    assert PT[384:] not in sink.getvalue() and PT.find(sink.getvalue()) == 0
    assert len(sink.getvalue()) <= 384


def test_wrong_key_is_the_same_failure(message: tuple[ev.RawAesKeyring, bytes]) -> None:
    _, ct = message
    _rejects(ev.RawAesKeyring("trent-test", "aes-key-1", bytes(32)), ct)
    _rejects(ev.RawAesKeyring("other", "aes-key-1", bytes(range(32))), ct)
