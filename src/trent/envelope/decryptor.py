"""Message decryption engine (client-wire-formats.md §4.1), a generator of plaintext chunks.

Order of checks: parse header -> materials (keyring) -> commit key compared in constant time
BEFORE the DEK is used -> header-auth tag -> frames, each released only after its GCM tag
verified -> (signed suites) footer signature over header ‖ body -> no trailing bytes.

The framed body is read ``k`` whole frames (~1 MiB) at a time into buffers whose frame slots
are precomputed views, so a chunk's sequence numbers are checked with one ``unpack_from`` and
compare, its AADs packed with one ``pack_into``, and the per-frame Python work is a single
``AESGCM.decrypt_into``. ``decrypt_into`` writes before it checks the tag, so on failure the
output buffer is wiped and nothing of that chunk is yielded.

Signed suites: frames are yielded as they verify (bounded memory); the signature covers them
only when the footer checks at the end, and the *final* frame is held back until then. The
generator raises :class:`DecryptionFailed` if the footer fails — treat everything yielded as
unverified until the generator is exhausted without error (the CLI writes to a temporary file
and renames it only then).
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable, Generator, Iterator
from typing import BinaryIO, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import signing
from ._frameviews import FrameViews
from ._hashing import Hasher, make_hasher
from ._reading import Window, fill, readinto_fn
from ._seqwords import SeqWords
from ._sink import ReservingSink
from .encryptor import frames_per_chunk
from .errors import DecryptionFailed, EnvelopeError
from .format import frames as fr
from .format import header as hdr
from .kdf import derive
from .materials import DecryptionMaterials

#: non-framed bodies are decrypted in one piece; refuse beyond this (bounded memory)
MAX_NON_FRAMED_IN_MEMORY = 32 << 20
_HEADER_WINDOW = 256 << 10

GetMaterials = Callable[[hdr.MessageHeader], tuple[DecryptionMaterials, dict[str, str]]]


def decrypt_chunks(
    source: BinaryIO,
    get_materials: GetMaterials,
    *,
    threads: int = 1,
    max_encrypted_data_keys: int | None = None,
    on_header: Callable[[hdr.MessageHeader, DecryptionMaterials], None] | None = None,
    sink: ReservingSink | None = None,
) -> Iterator[memoryview | bytes]:
    """Yield the plaintext of the message read from ``source``.

    ``get_materials(header)`` returns the decryption materials and the authenticate-only
    context (reproduced keys absent from the header). With ``sink`` (a
    :class:`~._sink.ReservingSink` the caller writes the chunks to), regular frames are
    decrypted straight into the sink's buffers.
    """
    readinto = readinto_fn(source)
    win = Window(readinto, _HEADER_WINDOW)
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

    hasher = make_hasher(suite, threads)
    if hasher is not None and materials.verification_key is None:
        raise DecryptionFailed()
    try:
        if hasher is not None:
            # the signature covers header body ‖ header auth ‖ body (§4.1 "Footer")
            hasher.update(-1, memoryview(body + auth_raw))
        aead = AESGCM(keys.data_encryption_key)
        if header.content_type == hdr.NON_FRAMED:
            win.attach_hasher(hasher)
            final = _non_framed(win, aead, header.message_id)
            tail = win
        else:
            # a source that lends its read-ahead buffers (fileio.DirectReader): chunks of
            # ciphertext are decrypted from there; not with a hashing thread, which reads a
            # chunk after it was yielded, when the reader may already have reused its buffer
            lender = cast(LendingSource, source) if threads == 1 and callable(getattr(source, "stride", None)) else None
            tail, seq = yield from _frames(win, readinto, aead, header, hasher, sink, lender)
            final = _final_frame(tail, aead, header, seq)
        tail.flush_hash()
        tail.attach_hasher(None)
        if hasher is not None:
            assert materials.verification_key is not None
            digest = hasher.digest()
            (siglen,) = fr.U16.unpack(tail.read_exact(2))
            signing.verify_digest(suite, materials.verification_key, digest, tail.read_exact(siglen))
        if not tail.at_eof():
            raise DecryptionFailed()  # trailing bytes after the message
        if final:
            yield final
    finally:
        if hasher is not None:
            hasher.close()


def _non_framed(win: Window, aead: AESGCM, message_id: bytes) -> bytes:
    # §4.1 non-framed body (v1 or v2): IV ‖ uint64 length ‖ ciphertext ‖ tag
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


def _final_frame(win: Window, aead: AESGCM, header: hdr.MessageHeader, seq: int) -> bytes:
    # §4.1 final frame: 0xFFFFFFFF ‖ seq ‖ IV ‖ uint32 length ‖ ciphertext ‖ tag
    (marker, fseq) = struct.unpack(">II", win.read_exact(8))
    iv = win.read_exact(fr.IV_LEN)
    (n,) = fr.U32.unpack(win.read_exact(4))
    if marker != fr.FINAL_MARKER or fseq != seq or n > header.frame_length:
        raise DecryptionFailed()
    ct = win.read_exact(n + fr.TAG_LEN)
    try:
        return aead.decrypt(iv, ct, fr.frame_aad(header.message_id, fr.FINAL_FRAME_STR, seq, n))
    except InvalidTag:
        raise DecryptionFailed() from None


class LendingSource(Protocol):
    """fileio.DirectReader: lends whole chunks of its read-ahead buffers."""

    def stride(self, unit: int) -> bool: ...

    def borrow(self, n: int) -> tuple[memoryview, int] | None: ...


def _frames(
    win: Window, readinto: Callable[[memoryview], int], aead: AESGCM,
    header: hdr.MessageHeader, hasher: Hasher | None, sink: ReservingSink | None = None,
    lender: LendingSource | None = None, *, first_seq: int = 1,
) -> Generator[memoryview, None, tuple[Window, int]]:
    """Yield regular frames' plaintext; return (window at the final frame, its seq).

    With ``sink``, plaintext is decrypted straight into the sink's buffer (_sink.py); with
    ``lender``, ciphertext is decrypted where the reader read it (no copy): once the bytes
    the header window read ahead are used up, the reader lays its buffers out in whole
    chunks (``stride``) and lends each one. ``first_seq`` is 1 in every message (§4.1) and
    larger only in tests that drive the engine up to the 2^32 - 1 frame limit."""
    dec = aead.decrypt_into
    message_id = header.message_id
    F = header.frame_length
    R = F + fr.REGULAR_OVERHEAD
    k = frames_per_chunk(F)
    cap = k * R
    if sink is not None and k * F > sink.max_reserve:
        sink = None
    mvs = [memoryview(bytearray(cap)) for _ in range(2)]
    iv_slices = [slice(i * R + 4, i * R + 16) for i in range(k)]
    ct_slices = [slice(i * R + 16, (i + 1) * R) for i in range(k)]
    ivs = [[m[s_] for s_ in iv_slices] for m in mvs]
    cts = [[m[s_] for s_ in ct_slices] for m in mvs]
    iv_views, ct_views = FrameViews(iv_slices), FrameViews(ct_slices)
    # plaintext: one own buffer with precomputed frame slots, or (a lending sink) the sink's
    # buffer, slots cached per region (_frameviews.py)
    out_slices = [slice(i * F, (i + 1) * F) for i in range(k)]
    own = memoryview(bytearray(k * F if sink is None else 0))
    own_outs = [own[s_] for s_ in out_slices] if sink is None else []
    out_views = FrameViews(out_slices)
    prefix = message_id + fr.FRAME_STR
    A = len(prefix) + 12
    aadmv = memoryview(bytearray(k * A))
    aads = [aadmv[i * A : (i + 1) * A] for i in range(k)]
    pack_aads = struct.Struct(">" + f"{len(prefix)}sIQ" * k).pack_into
    aad_args: list[object] = [prefix, 0, F] * k
    # every AAD's constant parts (prefix, length) written once, here: the strided path below
    # writes only the seq words into this template (issue 15)
    pack_aads(aadmv, 0, *aad_args)
    unpack_seqs = struct.Struct(">" + f"I{R - 4}x" * k).unpack_from
    # sequence numbers checked and AADs written with strided word copies (_seqwords.py)
    words = SeqWords(k) if R % 4 == 0 and len(prefix) % 4 == 0 else None
    Rw, Aw, Pw = R // 4, A // 4, len(prefix) // 4
    mws = [m.cast("I") for m in mvs] if words is not None else []
    aadw = aadmv.cast("I")
    u32 = fr.U32.unpack_from

    carry = win.take_rest()
    eof = win.eof
    strided = False
    seq = first_seq
    slot = 0
    while True:
        if hasher is not None:
            hasher.wait(slot)
        if lender is not None and not carry and not eof and not strided:
            strided = lender.stride(cap)  # once; False: the reader cannot, copy as before
            if not strided:
                lender = None
        lent = lender.borrow(cap) if strided and lender is not None else None
        if lent is not None:
            held, pos = lent
            mv, total = held[pos : pos + cap], cap
            chunk_ivs, chunk_cts = iv_views.at(held, pos), ct_views.at(held, pos)
            seqw = mv.cast("I") if words is not None else None
        else:
            mv = mvs[slot]
            n = min(len(carry), cap)
            mv[:n] = carry[:n]
            carry = carry[n:]
            got, eof2 = fill(readinto, mv[n:]) if not eof and not carry else (0, eof)
            eof = eof or eof2
            total = n + got
            chunk_ivs, chunk_cts = ivs[slot], cts[slot]
            seqw = mws[slot] if words is not None else None
        if sink is None:
            outmv, outs = own, own_outs
        else:
            base, at = sink.reserve(k * F)
            outmv, outs = base[at : at + k * F], out_views.at(base, at)
        if total != cap or seq + k > fr.MAX_SEQ:
            fast = False
        elif words is not None and seqw is not None:
            w = words.at(seq)
            fast = seqw[0::Rw] == w
            if fast:
                aadw[Pw::Aw] = w
        else:
            fast = unpack_seqs(mv, 0) == tuple(range(seq, seq + k))
            if fast:
                aad_args[1::3] = range(seq, seq + k)
                pack_aads(aadmv, 0, *aad_args)
        if fast:
            try:
                for i_, c_, a_, o_ in zip(chunk_ivs, chunk_cts, aads, outs):
                    dec(i_, c_, a_, o_)
            except InvalidTag:
                outmv[:] = bytes(len(outmv))  # decrypt_into wrote unverified plaintext: wipe
                raise DecryptionFailed() from None
            seq += k
            if hasher is not None:
                hasher.update(slot, mv[:cap])
            yield outmv
            slot ^= 1
            continue
        # slow path: the last chunk, or the final frame is inside this chunk
        o = p = 0
        i = 0
        try:
            # a regular frame's seq is below 2^32 - 1: at that number only the final frame may
            # follow, and its marker 0xFFFFFFFF would otherwise read as "regular frame 2^32 - 1"
            while o + R <= total and seq < fr.MAX_SEQ and u32(mv, o)[0] == seq:
                aad = fr.frame_aad(message_id, fr.FRAME_STR, seq, F)
                dec(chunk_ivs[i], chunk_cts[i], aad, outs[i])
                o += R
                p += F
                i += 1
                seq += 1
        except InvalidTag:
            outmv[:] = bytes(len(outmv))
            raise DecryptionFailed() from None
        if hasher is not None and o:
            hasher.update(slot, mv[:o])
        if p:
            yield outmv[:p]
        if o == cap:
            slot ^= 1  # a whole chunk of regular frames (tiny frames, or near MAX_SEQ)
            continue
        rest = bytes(mv[o:total]) + carry
        tail = Window(readinto, max(F + fr.FINAL_OVERHEAD + 2 + 1024, 64 << 10), rest, eof)
        tail.attach_hasher(hasher)
        return tail, seq
