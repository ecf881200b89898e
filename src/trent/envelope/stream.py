"""The message engine: framed encryption and decryption over file-like objects.

Both directions are generators of *output chunks* (``memoryview`` slices of reused buffers,
valid until the next ``next()``), so memory is bounded by the chunk size (about 1 MiB, or one
frame if frames are larger), never by the message size.

Why it is fast (the issue's performance targets):

* input is read with ``readinto`` into preallocated buffers, ~1 MiB at a time;
* one ``AESGCM`` object per message, ``encrypt_into`` / ``decrypt_into`` straight between the
  input and output buffers (no per-frame bytes objects except the slices);
* the frame's seq field and IV are written with one ``struct.pack_into``; the frame AAD is one
  preallocated ``bytearray`` whose tail is re-packed per frame;
* the signed suites hash the *whole* output (encrypt) / input (decrypt) in ~1 MiB calls —
  optionally on a second thread (``threads=2``), since ``hashlib`` releases the GIL for large
  buffers; buffers are double-buffered so the hasher never sees a buffer being rewritten.

Decryption releases a frame's plaintext only after its tag verified (``decrypt_into`` writes
before it checks, so on failure the output buffer is wiped and nothing is yielded).
With signed suites the *signature* is checked only at the end: frames yielded before that are
authenticated by their GCM tags but not yet by the signature — see :func:`decrypt_chunks`. The
final frame is held back until the footer verified, and the generator raises
:class:`DecryptionFailed` if it does not, so a caller that acts only after the generator is
exhausted (as the CLI does: temp file, then rename) never acts on unverified data.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import context as ctxmod
from . import signing
from .errors import ConfigurationError, DecryptionFailed, EnvelopeError
from .format import frames as fr
from .format import header as hdr
from .kdf import derive
from .materials import DecryptionMaterials, EncryptionMaterials
from .suites import AlgorithmSuite

#: target bytes of plaintext per read/hash/write call
CHUNK = 1 << 20
#: non-framed (v1) bodies are decrypted in one piece; refuse beyond this (bounded memory)
MAX_NON_FRAMED_IN_MEMORY = 32 << 20


# --------------------------------------------------------------------------- hashing


class _Hasher:
    """Hashes in the calling thread. ``slot`` lets the threaded variant double-buffer."""

    def __init__(self, name: str) -> None:
        self.h = hashlib.new(name)

    def update(self, slot: int, view: memoryview) -> None:
        self.h.update(view)

    def wait(self, slot: int) -> None:
        pass

    def digest(self) -> bytes:
        return self.h.digest()

    def close(self) -> None:
        pass


class _ThreadedHasher(_Hasher):
    """Hashes on one worker thread; ``wait(slot)`` before a slot's buffer is rewritten."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trent-hash")
        self.pending: dict[int, Future[Any]] = {}

    def update(self, slot: int, view: memoryview) -> None:
        self.wait(slot)
        self.pending[slot] = self.pool.submit(self.h.update, view)

    def wait(self, slot: int) -> None:
        f = self.pending.pop(slot, None)
        if f is not None:
            f.result()

    def digest(self) -> bytes:
        for slot in list(self.pending):
            self.wait(slot)
        return self.h.digest()

    def close(self) -> None:
        for slot in list(self.pending):
            try:
                self.wait(slot)
            except Exception:  # noqa: BLE001 - closing after an error; nothing to report
                pass
        self.pool.shutdown(wait=True)


def _hasher(suite: AlgorithmSuite, threads: int) -> _Hasher | None:
    if suite.sig_hash is None:
        return None
    return _ThreadedHasher(suite.sig_hash) if threads > 1 else _Hasher(suite.sig_hash)


# --------------------------------------------------------------------------- reading


def _readinto_fn(source: BinaryIO) -> Callable[[memoryview], int]:
    readinto = getattr(source, "readinto", None)
    if readinto is not None:
        def _ri(view: memoryview) -> int:
            n = readinto(view)
            if n is None:
                raise EnvelopeError("non-blocking sources are not supported")
            return int(n)
        return _ri

    def _copy(view: memoryview) -> int:
        data = source.read(len(view))
        view[: len(data)] = data
        return len(data)

    return _copy


def _fill(readinto: Callable[[memoryview], int], view: memoryview) -> tuple[int, bool]:
    """Fill ``view`` as far as possible; returns (bytes read, reached EOF)."""
    got = 0
    want = len(view)
    while got < want:
        n = readinto(view[got:])
        if n == 0:
            return got, True
        got += n
    return got, False


# --------------------------------------------------------------------------- encrypt


def encrypt_chunks(
    source: BinaryIO,
    materials: EncryptionMaterials,
    *,
    frame_length: int,
    message_id: bytes,
    threads: int = 1,
    on_header: Callable[[hdr.MessageHeader], None] | None = None,
) -> Iterator[memoryview | bytes]:
    """Yield the message (header, frames, footer) for ``source`` encrypted under ``materials``."""
    suite = materials.suite
    if not 0 < frame_length <= fr.MAX_FRAME_LENGTH:
        raise ConfigurationError("frame length must be between 1 and 2^31 - 1")
    if materials.plaintext_data_key is None or not materials.encrypted_data_keys:
        raise ConfigurationError("materials lack a data key or encrypted data keys")
    if len(message_id) != suite.message_id_len:
        raise ConfigurationError("message ID has the wrong length")
    keys = derive(suite, materials.plaintext_data_key, message_id)
    required = {k: materials.encryption_context[k] for k in materials.required_context_keys}
    stored = {k: v for k, v in materials.encryption_context.items() if k not in required}
    header = hdr.MessageHeader(
        version=2, suite=suite, message_id=message_id, stored_context=ctxmod.frozen(stored),
        encrypted_data_keys=materials.encrypted_data_keys, content_type=hdr.FRAMED,
        frame_length=frame_length, suite_data=keys.commit_key or b"",
    )
    body = hdr.serialize_body(header)
    head = body + hdr.serialize_auth(2, hdr.auth_tag(keys.data_encryption_key, body, required))
    if on_header is not None:
        on_header(header)

    hasher = _hasher(suite, threads)
    try:
        if hasher is not None:
            hasher.update(-1, memoryview(head))
        yield head

        aead = AESGCM(keys.data_encryption_key)
        enc = aead.encrypt_into
        seq_iv = fr.SEQ_AND_IV.pack_into
        aad_tail = fr.AAD_TAIL.pack_into
        F = frame_length
        R = F + fr.REGULAR_OVERHEAD
        per_chunk = max(1, CHUNK // F)
        inbuf = bytearray(per_chunk * F)
        inmv = memoryview(inbuf)
        outs = [bytearray(per_chunk * R + F + fr.FINAL_OVERHEAD) for _ in range(2)]
        outmvs = [memoryview(b) for b in outs]
        aad = bytearray(message_id + fr.FRAME_STR + bytes(12))
        at = len(message_id) + len(fr.FRAME_STR)
        aad_tail(aad, at, 0, F)
        readinto = _readinto_fn(source)
        seq = 1
        slot = 0
        eof = False
        while not eof:
            got, eof = _fill(readinto, inmv)
            full = got // F
            if not eof:
                full = per_chunk  # got == len(inbuf)
            if seq + full > fr.MAX_SEQ:
                raise ConfigurationError("message would exceed 2^32 - 1 frames")
            if hasher is not None:
                hasher.wait(slot)
            out = outmvs[slot]
            o = 0
            ip = 0
            for _ in range(full):
                # §4.1: seq ‖ IV(seq) ‖ ciphertext ‖ tag, AAD tail = seq ‖ frame length
                seq_iv(out, o, seq, seq)
                aad_tail(aad, at, seq, F)
                enc(out[o + 4 : o + 16], inmv[ip : ip + F], aad, out[o + 16 : o + R])
                o += R
                ip += F
                seq += 1
            if eof:
                n = got - ip
                fr.FINAL_PREFIX.pack_into(out, o, fr.FINAL_MARKER, seq, seq, n)
                final_aad = fr.frame_aad(message_id, fr.FINAL_FRAME_STR, seq, n)
                enc(out[o + 8 : o + 20], inmv[ip : ip + n], final_aad, out[o + 24 : o + 24 + n + 16])
                o += 24 + n + 16
            if o:
                if hasher is not None:
                    hasher.update(slot, out[:o])
                yield out[:o]
            slot ^= 1
        if hasher is not None:
            assert materials.signing_key is not None
            sig = signing.sign_digest(suite, materials.signing_key, hasher.digest())
            yield fr.serialize_footer(sig)
    finally:
        if hasher is not None:
            hasher.close()


# --------------------------------------------------------------------------- decrypt


class _Window:
    """A read window over the source with two alternating buffers.

    ``mv[start:end]`` is unconsumed input. Bytes before ``start`` are consumed and, while
    ``hasher`` is set, hashed (in order) before they can be overwritten.
    """

    def __init__(self, source: BinaryIO, capacity: int) -> None:
        self.readinto = _readinto_fn(source)
        self.capacity = capacity
        self.mvs = [memoryview(bytearray(capacity)) for _ in range(2)]
        self.slot = 0
        self.mv = self.mvs[0]
        self.start = self.end = self.hashed = 0
        self.eof = False
        self.hasher: _Hasher | None = None

    def flush_hash(self) -> None:
        if self.hasher is not None and self.start > self.hashed:
            self.hasher.update(self.slot, self.mv[self.hashed : self.start])
        self.hashed = self.start

    def refill(self) -> None:
        """Move the unconsumed tail to the other buffer and read until full or EOF."""
        self.flush_hash()
        other = self.slot ^ 1
        if self.hasher is not None:
            self.hasher.wait(other)
        n = self.end - self.start
        dst = self.mvs[other]
        dst[:n] = self.mv[self.start : self.end]
        self.slot, self.mv = other, dst
        self.start, self.hashed = 0, 0
        got, self.eof = _fill(self.readinto, dst[n:]) if not self.eof else (0, True)
        self.end = n + got

    def read_exact(self, n: int) -> bytes:
        if n <= self.capacity:
            while self.end - self.start < n:
                if self.eof:
                    raise DecryptionFailed()
                self.refill()
            b = bytes(self.mv[self.start : self.start + n])
            self.start += n
            return b
        parts = []
        left = n
        while left:
            if self.start == self.end:
                if self.eof:
                    raise DecryptionFailed()
                self.refill()
                continue
            take = min(left, self.end - self.start)
            parts.append(bytes(self.mv[self.start : self.start + take]))
            self.start += take
            left -= take
        return b"".join(parts)

    def at_eof(self) -> bool:
        while self.start == self.end:
            if self.eof:
                return True
            self.refill()
        return False


def decrypt_chunks(
    source: BinaryIO,
    get_materials: Callable[[hdr.MessageHeader], tuple[DecryptionMaterials, dict[str, str]]],
    *,
    threads: int = 1,
    max_encrypted_data_keys: int | None = None,
    on_header: Callable[[hdr.MessageHeader, DecryptionMaterials], None] | None = None,
) -> Iterator[memoryview | bytes]:
    """Yield the plaintext of the message read from ``source``.

    ``get_materials(header)`` returns the decryption materials and the *authenticate-only*
    context (required keys reproduced by the caller and absent from the header).

    Every frame yielded has passed its GCM tag. For signed suites the final frame is yielded
    only after the footer signature verified; earlier frames are released *before* that
    (streaming), so treat the output as unverified until the generator finishes without
    raising :class:`DecryptionFailed`.
    """
    win = _Window(source, 2 * CHUNK)
    header, body = hdr.parse(win, max_encrypted_data_keys)
    iv0, tag0, auth_raw = hdr.parse_auth(win, header.version)
    suite = header.suite
    materials, auth_only = get_materials(header)
    if materials.plaintext_data_key is None:
        raise DecryptionFailed()
    keys = derive(suite, materials.plaintext_data_key, header.message_id)
    # §4.1: recompute the commit key and compare in constant time BEFORE using the DEK
    if suite.committing and not hmac.compare_digest(keys.commit_key or b"", header.suite_data):
        raise DecryptionFailed()
    hdr.verify_auth(keys.data_encryption_key, body, auth_only, iv0, tag0)
    if on_header is not None:
        on_header(header, materials)

    hasher = _hasher(suite, threads)
    if hasher is not None:
        if materials.verification_key is None:
            raise DecryptionFailed()
        # the signature covers header body ‖ header auth ‖ body (§4.1 "Footer")
        hasher.update(-1, memoryview(body + auth_raw))
        win.hashed = win.start
        win.hasher = hasher
    try:
        aead = AESGCM(keys.data_encryption_key)
        if header.content_type == hdr.NON_FRAMED:
            final = _decrypt_non_framed(win, aead, header.message_id)
        else:
            final = yield from _decrypt_frames(win, aead, header)
        win.flush_hash()
        win.hasher = None
        if hasher is not None:
            assert materials.verification_key is not None
            digest = hasher.digest()
            (siglen,) = fr.U16.unpack(win.read_exact(2))
            sig = win.read_exact(siglen)
            signing.verify_digest(suite, materials.verification_key, digest, sig)
        if not win.at_eof():
            raise DecryptionFailed()  # trailing bytes after the message
        if final:
            yield final
    finally:
        if hasher is not None:
            hasher.close()


def _decrypt_non_framed(win: _Window, aead: AESGCM, message_id: bytes) -> bytes:
    iv = win.read_exact(fr.IV_LEN)
    (n,) = fr.U64.unpack(win.read_exact(8))
    if n > fr.MAX_NON_FRAMED:
        raise DecryptionFailed()
    if n > MAX_NON_FRAMED_IN_MEMORY:
        raise EnvelopeError("non-framed message too large to decrypt with bounded memory")
    ct = win.read_exact(n + fr.TAG_LEN)
    try:
        return aead.decrypt(iv, ct, fr.frame_aad(message_id, fr.SINGLE_BLOCK_STR, 1, n))
    except InvalidTag:
        raise DecryptionFailed() from None


def _decrypt_frames(win: _Window, aead: AESGCM, header: hdr.MessageHeader) -> Iterator[memoryview]:
    """Yield regular frames' plaintext; return the final frame's (held back)."""
    message_id = header.message_id
    F = header.frame_length
    R = F + fr.REGULAR_OVERHEAD
    # window capacity must hold at least one whole frame plus a final-frame prefix
    if win.capacity < R + fr.FINAL_OVERHEAD:
        _grow(win, R + fr.FINAL_OVERHEAD)
    outbuf = bytearray(max(F, (win.capacity // R) * F))
    out = memoryview(outbuf)
    dec = aead.decrypt_into
    u32 = fr.U32.unpack_from
    aad_tail = fr.AAD_TAIL.pack_into
    aad = bytearray(message_id + fr.FRAME_STR + bytes(12))
    at = len(message_id) + len(fr.FRAME_STR)
    aad_tail(aad, at, 0, F)
    seq = 1
    while True:
        mv = win.mv
        o = win.start
        end = win.end
        p = 0
        s = -1
        try:
            while o + R <= end:
                (s,) = u32(mv, o)
                if s != seq:
                    break
                aad_tail(aad, at, seq, F)
                dec(mv[o + 4 : o + 16], mv[o + 16 : o + R], aad, out[p : p + F])
                o += R
                p += F
                seq += 1
            else:
                s = -1
        except InvalidTag:
            out[: p + F] = bytes(p + F)  # decrypt_into wrote before it checked: wipe
            raise DecryptionFailed() from None
        win.start = o
        if p:
            yield out[:p]
        if s == -1 and end - o >= 4:
            (s,) = u32(mv, o)
        if s == fr.FINAL_MARKER:
            break
        if s not in (-1, seq):
            raise DecryptionFailed()  # out-of-order, replayed or forged frame
        if win.eof:
            raise DecryptionFailed()  # truncated: a frame is cut short
        win.refill()
    # §4.1 final frame: marker ‖ seq ‖ IV ‖ uint32 length ‖ ciphertext ‖ tag
    win.read_exact(4)
    (fseq,) = fr.U32.unpack(win.read_exact(4))
    iv = win.read_exact(fr.IV_LEN)
    (n,) = fr.U32.unpack(win.read_exact(4))
    if fseq != seq or n > F:
        raise DecryptionFailed()
    ct = win.read_exact(n + fr.TAG_LEN)
    try:
        return aead.decrypt(iv, ct, fr.frame_aad(message_id, fr.FINAL_FRAME_STR, seq, n))
    except InvalidTag:
        raise DecryptionFailed() from None


def _grow(win: _Window, need: int) -> None:
    """Enlarge the window's buffers (frames bigger than the default chunk)."""
    win.flush_hash()
    if win.hasher is not None:
        win.hasher.wait(0)
        win.hasher.wait(1)
    cap = need
    pending = bytes(win.mv[win.start : win.end])
    win.mvs = [memoryview(bytearray(cap)) for _ in range(2)]
    win.capacity = cap
    win.slot = 0
    win.mv = win.mvs[0]
    win.mv[: len(pending)] = pending
    win.start = win.hashed = 0
    win.end = len(pending)
