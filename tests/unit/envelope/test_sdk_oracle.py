"""Issue 15: every message Trent writes is an AWS Encryption SDK message, and Trent reads every
message the SDK writes — on every path (sdk_oracle.PATHS), at sizes on both sides of every boundary
the engines have:

- frame counts 255/256/257 and 65,535/65,536 (one byte of the seq number, 2^16; a chunk holds 256
  frames of 4 KiB and 1,024 frames of 128 B, so these also land on chunk edges),
- sizes that are exact multiples of the frame length (empty final frame) and one byte more,
- frame lengths from the smallest the SDK writes (128) to beyond the writer's 3 MiB buffers, and
  lengths only Trent writes (1, 100, 4097: not 4-byte periodic, so the struct path, not the strided
  word path),
- the reader's 2 MiB and the writer's 3 MiB buffers, the 256 KiB header window, the 1 MiB chunk,
- a message of more than 64 MiB.

The oracle is the SDK (sdk_oracle.py); the engines' own round trip is never the evidence.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trent import envelope as ev
from trent.envelope import decryptor, encryptor
from trent.envelope._reading import Window, readinto_fn
from trent.envelope.errors import ConfigurationError
from trent.envelope.suites import SUITES

from .sdk_oracle import (
    MIB,
    PATHS,
    SDK_FRAME_MULTIPLE,
    WRITTEN_SUITES,
    encrypt_on_every_path,
    sdk_decrypt,
    sdk_encrypt,
    strip_footer,
)

#: (frame length, plaintext size): both directions (frame lengths the SDK also writes)
BOUNDARIES = [
    (4096, 0),
    *[(4096, n * 4096 + extra) for n in (255, 256, 257) for extra in (0, 1)],
    *[(128, n * 128 + extra) for n in (65535, 65536) for extra in (0, 1)],
    (128, 1),
    (1152, 3 * MIB + 7),          # a frame that is no power of two; crosses the reader's buffers
    (4096, 256 * 1024 - 1),       # the header window
    (65536, 5 * MIB + 1),         # the writer's 3 MiB buffers
    (MIB, 3 * MIB),               # one frame per chunk, exact multiple
    (MIB, 3 * MIB + 1),
    (4 * MIB, 9 * MIB + 5),       # a frame larger than any buffer
    (4096, 64 * MIB + 4097),      # a big message: 16,386 frames
]

#: frame lengths only Trent writes (the SDK reads any length)
TRENT_ONLY = [
    (1, 65_537),                  # 65,538 frames of one byte
    (4, 4 * 1024 + 3),            # the smallest 4-byte-periodic frame
    (100, MIB + 3),               # not 4-byte periodic: struct packing
    (4097, 2 * MIB + 9),
    (4100, 257 * 4100),
]


def _ids(cases: list[tuple[int, int]]) -> list[str]:
    return [f"frame{f}-size{s}" for f, s in cases]


@pytest.mark.parametrize("suite", WRITTEN_SUITES, ids=hex)
@pytest.mark.parametrize(("frame", "size"), BOUNDARIES + TRENT_ONLY, ids=_ids(BOUNDARIES + TRENT_ONLY))
def test_trent_writes_the_same_message_on_every_path_and_the_sdk_reads_it(
        keyring: ev.RawAesKeyring, tmp_path: Path, suite: int, frame: int, size: int) -> None:
    pt = os.urandom(size)
    cts = encrypt_on_every_path(pt, tmp_path, keyring, suite, frame)
    # same message ID and materials: every path must write the same header and body bytes
    bodies = {name: strip_footer(ct, suite) for name, ct in cts.items()}
    assert len(set(bodies.values())) == 1, {n: len(b) for n, b in bodies.items()}
    # unsigned: one message, the SDK reads it once; signed: each path's footer is its own signature
    for name, ct in (cts.items() if suite == 0x0578 else [("bytes", cts["bytes"])]):
        assert sdk_decrypt(ct) == pt, name
    if frame % SDK_FRAME_MULTIPLE:
        # lengths the SDK cannot write: Trent's readers get a message the SDK has just accepted
        for name, (_, decrypt) in PATHS.items():
            assert decrypt(cts["bytes"], tmp_path, {"keyring": keyring}) == pt, name


@pytest.mark.parametrize("suite", WRITTEN_SUITES, ids=hex)
@pytest.mark.parametrize(("frame", "size"), BOUNDARIES, ids=_ids(BOUNDARIES))
def test_the_sdk_writes_and_every_trent_path_reads(keyring: ev.RawAesKeyring, tmp_path: Path, suite: int,
                                                   frame: int, size: int) -> None:
    pt = os.urandom(size)
    ct = sdk_encrypt(pt, suite, frame)
    for name, (_, decrypt) in PATHS.items():
        assert decrypt(ct, tmp_path, {"keyring": keyring}) == pt, name


@pytest.mark.parametrize("suite", WRITTEN_SUITES, ids=hex)
def test_a_flipped_bit_in_a_late_frame_is_refused_on_every_path(keyring: ev.RawAesKeyring, tmp_path: Path,
                                                                suite: int) -> None:
    """The other half of the oracle: what the SDK writes and Trent accepts must still be checked —
    a frame past the first chunk (frame 300 of 4 KiB) with one ciphertext bit flipped."""
    pt = os.urandom(400 * 4096)
    ct = bytearray(sdk_encrypt(pt, suite, 4096))
    ct[len(ct) - 100 * (4096 + 32) - 200] ^= 0x10  # inside frame ~300's ciphertext
    for name, (_, decrypt) in PATHS.items():
        with pytest.raises(ev.DecryptionFailed):
            decrypt(bytes(ct), tmp_path, {"keyring": keyring})
        assert not (tmp_path / "f.out").exists(), name  # the file path leaves nothing behind


# ------------------------------------------------------------------ non-framed (content type 0x01)


@pytest.mark.parametrize("suite", sorted(SUITES), ids=hex)
@pytest.mark.parametrize("size", [0, 1, 4096, MIB + 1, 5 * MIB + 3])
def test_non_framed_messages_from_the_sdk_are_read_on_every_path(keyring: ev.RawAesKeyring, tmp_path: Path,
                                                                 suite: int, size: int) -> None:
    pt = os.urandom(size)
    ct = sdk_encrypt(pt, suite, 0)
    header = ev.decrypt(ct, keyring=keyring, commitment_policy=ev.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT).header
    assert header.content_type == 0x01 and header.suite.suite_id == suite
    kw: dict[str, object] = {"keyring": keyring,
                             "commitment_policy": ev.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT}
    for name, (_, decrypt) in PATHS.items():
        assert decrypt(ct, tmp_path, kw) == pt, name


# ------------------------------------------------------------------ property: any size, frame, suite, path


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, int, str, int, int]:
    direction = draw(st.sampled_from(["trent->sdk", "sdk->trent"]))
    suite = draw(st.sampled_from(WRITTEN_SUITES))
    path = draw(st.sampled_from(sorted(PATHS)))
    if direction == "sdk->trent":
        frame = SDK_FRAME_MULTIPLE * draw(st.integers(1, 600))
    else:
        frame = draw(st.one_of(st.integers(1, 70_000), st.sampled_from([4, 128, 4096, 65536, MIB])))
    # sizes near multiples of the frame length (frame counts at chunk and buffer edges), capped at 3 MiB
    frames = draw(st.integers(0, max(0, min(3 * MIB // frame, 2100))))
    size = max(0, min(3 * MIB, frames * frame + draw(st.sampled_from([-1, 0, 1, frame // 2]))))
    return direction, suite, path, frame, size


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_case())
def test_property_the_sdk_agrees_at_any_size_frame_suite_and_path(case: tuple[str, int, str, int, int]) -> None:
    from .conftest import AES_KEY, KEY_NAME, NAMESPACE

    direction, suite, path, frame, size = case
    keyring = ev.RawAesKeyring(NAMESPACE, KEY_NAME, AES_KEY)
    pt = os.urandom(size)
    encrypt, decrypt = PATHS[path]
    with tempfile.TemporaryDirectory() as d:
        if direction == "trent->sdk":
            ct = encrypt(pt, Path(d), {"keyring": keyring, "suite": ev.suite_by_id(suite), "frame_length": frame})
            assert sdk_decrypt(ct) == pt
        else:
            assert decrypt(sdk_encrypt(pt, suite, frame), Path(d), {"keyring": keyring}) == pt


# ------------------------------------------------------------------ up to the format's frame limit


class _SpyAead:
    """AES-GCM that records the nonce and AAD of every frame the engine seals or opens."""

    def __init__(self, key: bytes) -> None:
        self.real = AESGCM(key)
        self.calls: list[tuple[bytes, bytes]] = []

    def encrypt_into(self, nonce: object, data: object, aad: object, buf: object) -> int:
        self.calls.append((bytes(nonce), bytes(aad)))  # type: ignore[call-overload]
        return self.real.encrypt_into(nonce, data, aad, buf)  # type: ignore[arg-type]

    def decrypt_into(self, nonce: object, data: object, aad: object, buf: object) -> int:
        self.calls.append((bytes(nonce), bytes(aad)))  # type: ignore[call-overload]
        return self.real.decrypt_into(nonce, data, aad, buf)  # type: ignore[arg-type]

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        self.calls.append((bytes(nonce), bytes(aad)))
        return self.real.decrypt(nonce, data, aad)


def _spec_frame(mid: bytes, seq: int, length: int, final: bool) -> tuple[bytes, bytes]:
    """client-wire-formats.md §4.1, written out here rather than taken from the engine:
    IV = seq big-endian in the last 4 of 12 bytes; AAD = message ID ‖ "AWSKMSEncryptionClient
    Frame" (or "... Final Frame") ‖ uint32 seq ‖ uint64 length of this frame's content."""
    kind = b"AWSKMSEncryptionClient Final Frame" if final else b"AWSKMSEncryptionClient Frame"
    return bytes(8) + struct.pack(">I", seq), mid + kind + struct.pack(">IQ", seq, length)


@pytest.mark.parametrize("frame", [16, 100, 4096])
def test_both_engines_follow_the_spec_up_to_frame_2_to_the_32_minus_1(frame: int) -> None:
    """The strided fast path precomputes a chunk's seq words in bulk; it must stop where a word
    would pass 2^32 - 1, and the last frame the format allows must still be spec-exact. The engines
    start at ``first_seq`` so that a test reaches the end of the seq space without 2^32 frames."""
    mid, key = os.urandom(32), os.urandom(32)
    k = encryptor.frames_per_chunk(frame)
    regular = 3 * k + 4                     # spans three whole chunks and a part
    first = 0xFFFFFFFF - regular            # ... so that the final frame is seq 2^32 - 1
    pt = os.urandom(regular * frame + frame // 2)
    spy = _SpyAead(key)
    body = b"".join(bytes(c) for c in encryptor._body(io.BytesIO(pt), spy, mid, frame, None,  # type: ignore[arg-type]
                                                      first_seq=first))
    want = [_spec_frame(mid, first + i, frame, False) for i in range(regular)]
    want.append(_spec_frame(mid, 0xFFFFFFFF, frame // 2, True))
    assert spy.calls == want
    # the frames themselves: seq field and IV as the spec lays them out
    R = frame + 32
    for i in range(regular):
        assert body[i * R : i * R + 16] == struct.pack(">I", first + i) + want[i][0]
    assert body[regular * R : regular * R + 20] == struct.pack(">II", 0xFFFFFFFF, 0xFFFFFFFF) + want[-1][0]
    # the decrypt engine reads it, checking the same nonces and AADs
    spy = _SpyAead(key)
    src = io.BytesIO(body)
    header = SimpleNamespace(message_id=mid, frame_length=frame)
    frames = decryptor._frames(Window(readinto_fn(src), 1 << 16), readinto_fn(src), spy, header,  # type: ignore[arg-type]
                               None, first_seq=first)
    out = []
    try:
        while True:
            out.append(bytes(next(frames)))
    except StopIteration as stop:
        tail, seq = stop.value
    out.append(decryptor._final_frame(tail, spy, header, seq))  # type: ignore[arg-type]
    assert b"".join(out) == pt and spy.calls == want
    # one frame more than the format allows is refused before anything is written
    with pytest.raises(ConfigurationError, match="2\\^32 - 1 frames"):
        list(encryptor._body(io.BytesIO(pt + os.urandom(frame)), AESGCM(key), mid, frame, None, first_seq=first))
