"""Message encryption engine: header, framed body, footer (client-wire-formats.md §4.1).

A generator of output chunks (views of reused buffers, valid until the next ``next()``).

Speed (the issue's targets): the plaintext is read ``k`` frames at a time (~1 MiB) with
``readinto`` into one preallocated buffer; frame slots in two output buffers are precomputed
``memoryview`` slices, so a whole chunk's seq fields and IVs are written by ONE
``struct.pack_into`` and all its frame AADs by another; the per-frame Python work is a single
``AESGCM.encrypt_into`` call from input slice to output slice. Given a lending sink (the file
path's O_DIRECT writer, _sink.py), the chunk is encrypted straight into the sink's buffer. The signed suites hash each
output chunk in one call, optionally on a second thread.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import context as ctxmod
from . import signing
from ._frameviews import FrameViews
from ._hashing import Hasher, make_hasher
from ._reading import fill, readinto_fn
from ._seqwords import SeqWords
from ._sink import ReservingSink
from .errors import ConfigurationError
from .format import frames as fr
from .format import header as hdr
from .kdf import derive
from .materials import EncryptionMaterials

#: target plaintext bytes per chunk, and the cap on frames per chunk
CHUNK = 1 << 20
MAX_FRAMES_PER_CHUNK = 1024


def frames_per_chunk(frame_length: int) -> int:
    return max(1, min(MAX_FRAMES_PER_CHUNK, CHUNK // frame_length))


def build_header(
    materials: EncryptionMaterials, frame_length: int, message_id: bytes
) -> tuple[hdr.MessageHeader, bytes, bytes]:
    """Returns (header, serialized header body ‖ auth, data encryption key)."""
    suite = materials.suite
    if not 0 < frame_length <= fr.MAX_FRAME_LENGTH:
        raise ConfigurationError("frame length must be between 1 and 2^31 - 1")
    if materials.plaintext_data_key is None or not materials.encrypted_data_keys:
        raise ConfigurationError("materials lack a data key or encrypted data keys")
    if len(message_id) != suite.message_id_len:
        raise ConfigurationError("message ID has the wrong length")
    keys = derive(suite, materials.plaintext_data_key, message_id)
    # §4.1 header item 4: required keys are authenticated only, not stored
    required = {k: materials.encryption_context[k] for k in materials.required_context_keys}
    stored = {k: v for k, v in materials.encryption_context.items() if k not in required}
    header = hdr.MessageHeader(
        version=2, suite=suite, message_id=message_id, stored_context=ctxmod.frozen(stored),
        encrypted_data_keys=materials.encrypted_data_keys, content_type=hdr.FRAMED,
        frame_length=frame_length, suite_data=keys.commit_key or b"",
    )
    body = hdr.serialize_body(header)
    head = body + hdr.serialize_auth(2, hdr.auth_tag(keys.data_encryption_key, body, required))
    return header, head, keys.data_encryption_key


def encrypt_chunks(
    source: BinaryIO,
    materials: EncryptionMaterials,
    *,
    frame_length: int,
    message_id: bytes,
    threads: int = 1,
    on_header: Callable[[hdr.MessageHeader], None] | None = None,
    sink: ReservingSink | None = None,
) -> Iterator[memoryview | bytes]:
    """Yield the message (header, frames, footer) for ``source`` encrypted under ``materials``.

    With ``sink`` (a :class:`~._sink.ReservingSink` the caller writes the chunks to), body
    chunks are built inside the sink's own buffers (_sink.py)."""
    suite = materials.suite
    header, head, dek = build_header(materials, frame_length, message_id)
    if on_header is not None:
        on_header(header)
    hasher = make_hasher(suite, threads)
    try:
        if hasher is not None:
            hasher.update(-1, memoryview(head))
        yield head
        yield from _body(source, AESGCM(dek), message_id, frame_length, hasher, sink)
        if hasher is not None:
            assert materials.signing_key is not None
            sig = signing.sign_digest(suite, materials.signing_key, hasher.digest())
            yield fr.serialize_footer(sig)
    finally:
        if hasher is not None:
            hasher.close()


def _body(
    source: BinaryIO, aead: AESGCM, message_id: bytes, F: int, hasher: Hasher | None,
    sink: ReservingSink | None = None, *, first_seq: int = 1,
) -> Iterator[memoryview]:
    """Yield the framed body; ``first_seq`` is 1 in every message (§4.1) and larger only in
    tests that drive the engine up to the 2^32 - 1 frame limit."""
    enc = aead.encrypt_into
    R = F + fr.REGULAR_OVERHEAD
    k = frames_per_chunk(F)
    cap = k * R + F + fr.FINAL_OVERHEAD  # a chunk of regular frames, plus the final frame
    if sink is not None and cap > sink.max_reserve:
        sink = None
    inmv = memoryview(bytearray(k * F))
    in_slices = [slice(i * F, (i + 1) * F) for i in range(k)]
    ins = [inmv[s] for s in in_slices]
    # a source that lends its read buffers (fileio.DirectReader.borrow): whole chunks are
    # encrypted from there, no copy; a chunk that straddles its buffers is copied as before
    borrow: Callable[[int], tuple[memoryview, int] | None] | None = getattr(source, "borrow", None)
    in_views = FrameViews(in_slices)
    # without a lending sink: two own output buffers with precomputed ciphertext slots;
    # with one: the chunk goes straight into the sink's buffer (slots cached per region)
    outmvs = [memoryview(bytearray(cap)) for _ in range(2 if sink is None else 0)]
    ct_slices = [slice(i * R + 16, (i + 1) * R) for i in range(k)]
    cts = [[m[s] for s in ct_slices] for m in outmvs]
    ct_views = FrameViews(ct_slices)
    # the IVs of a chunk, contiguous (the same bytes are also packed into the frames)
    ivmv = memoryview(bytearray(k * fr.IV_LEN))
    ivs = [ivmv[i * fr.IV_LEN : (i + 1) * fr.IV_LEN] for i in range(k)]
    pack_ivs = struct.Struct(">" + "8xI" * k).pack_into
    # frame AADs of a chunk, contiguous: (message ID ‖ "…Frame") ‖ uint32 seq ‖ uint64 F
    prefix = message_id + fr.FRAME_STR
    A = len(prefix) + 12
    aadmv = memoryview(bytearray(k * A))
    aads = [aadmv[i * A : (i + 1) * A] for i in range(k)]
    # one pack for a chunk's seq fields and IVs; the "x" pads zero the ciphertext slots,
    # which encrypt_into then overwrites
    pack_heads = struct.Struct(">" + f"I8xI{F + fr.TAG_LEN}x" * k).pack_into
    pack_aads = struct.Struct(">" + f"{len(prefix)}sIQ" * k).pack_into
    head_args: list[int] = [0] * (2 * k)
    aad_args: list[object] = [prefix, 0, F] * k
    # every AAD's constant parts (prefix, length) written once, here: the strided path below
    # writes only the seq words into this template (issue 15)
    pack_aads(aadmv, 0, *aad_args)
    # the same with strided word writes where the layout allows (_seqwords.py)
    words = SeqWords(k) if R % 4 == 0 and len(prefix) % 4 == 0 else None
    Rw, Aw, Pw = R // 4, A // 4, len(prefix) // 4
    zeros = memoryview(bytes(4 * k)).cast("I")
    ivw = ivmv.cast("I")
    aadw = aadmv.cast("I")
    readinto = readinto_fn(source)
    seq = first_seq
    slot = 0
    eof = False
    while not eof:
        lent = borrow(k * F) if borrow is not None else None
        srcs: list[memoryview]
        if lent is not None:
            got, srcs = k * F, in_views.at(*lent)
        else:
            (got, eof), srcs = fill(readinto, inmv), ins
        full = k if not eof else got // F
        if seq + full > fr.MAX_SEQ:
            raise ConfigurationError("message would exceed 2^32 - 1 frames")
        if hasher is not None:
            hasher.wait(slot)
        if sink is None:
            out, slots = outmvs[slot], cts[slot]
        else:
            base, at = sink.reserve(cap)
            out, slots = base[at : at + cap], ct_views.at(base, at)
        if full == k and seq + k <= fr.MAX_SEQ:
            if words is not None:
                w = words.at(seq)
                ow = out[: k * R].cast("I")
                ow[0::Rw] = w  # seq ‖ IV = 0^8 ‖ seq
                ow[1::Rw] = zeros
                ow[2::Rw] = zeros
                ow[3::Rw] = w
                ivw[2::3] = w
                aadw[Pw::Aw] = w
            else:
                seqs = range(seq, seq + k)
                head_args[0::2] = seqs
                head_args[1::2] = seqs
                pack_heads(out, 0, *head_args)
                pack_ivs(ivmv, 0, *seqs)
                aad_args[1::3] = seqs
                pack_aads(aadmv, 0, *aad_args)
            # §4.1 regular frame: seq ‖ IV(seq) ‖ ciphertext ‖ tag
            for n_, i_, a_, c_ in zip(ivs, srcs, aads, slots):
                enc(n_, i_, a_, c_)
            seq += k
        else:
            for i in range(full):
                fr.SEQ_AND_IV.pack_into(out, i * R, seq, seq)
                aad = fr.frame_aad(message_id, fr.FRAME_STR, seq, F)
                enc(out[i * R + 4 : i * R + 16], srcs[i], aad, slots[i])
                seq += 1
        o = full * R
        if eof:
            n = got - full * F
            fr.FINAL_PREFIX.pack_into(out, o, fr.FINAL_MARKER, seq, seq, n)
            final_aad = fr.frame_aad(message_id, fr.FINAL_FRAME_STR, seq, n)
            # only a filled (not borrowed) chunk reaches EOF
            enc(out[o + 8 : o + 20], inmv[full * F : got], final_aad, out[o + 24 : o + 40 + n])
            o += 40 + n
        if o:
            if hasher is not None:
                hasher.update(slot, out[:o])
            yield out[:o]
        slot ^= 1
