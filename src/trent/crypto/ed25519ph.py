"""Ed25519ph (RFC 8032 §5.1, phflag = 1, empty context) over a 64-byte SHA-512 prehash.

pyca `cryptography` offers pure Ed25519 only, and KMS's ED25519_PH_SHA_512 with
MessageType DIGEST (spec §3.3) is the prehash variant: dom2(1, "") is mixed into both
hashes, so a pure-Ed25519 signature over the digest would not verify anywhere.
This is RFC 8032's reference arithmetic (§6), on extended coordinates, with a table
of base-point doublings. It is slow (pure Python: ~1.2 ms per signature, ~2.3 ms per
verification on the dev machine, vs ~60 us for pyca's ECDSA; it runs inline on the
event loop like every Sign) and not constant-time; the secret scalar never leaves
process memory, the same trust boundary as the software key store.
"""

from __future__ import annotations

import hashlib

_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_DOM2_PH = b"SigEd25519 no Ed25519 collisions" + b"\x01" + b"\x00"  # phflag 1, empty context

PREHASH_LEN = 64
SIGNATURE_LEN = 64

Point = tuple[int, int, int, int]


def _add(a: Point, b: Point) -> Point:
    aa = (a[1] - a[0]) * (b[1] - b[0]) % _P
    bb = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = bb - aa, d - c, d + c, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s: int, point: Point) -> Point:
    acc: Point = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = _add(acc, point)
        point = _add(point, point)
        s >>= 1
    return acc


def _equal(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
assert _GX is not None
_G: Point = (_GX, _GY, 1, _GX * _GY % _P)


def _doublings(point: Point) -> tuple[Point, ...]:
    table = [point]
    for _ in range(255):
        table.append(_add(table[-1], table[-1]))
    return tuple(table)


# 2^i * G for i < 256: a base-point multiplication is then only additions (~2.5x faster).
_G_TABLE = _doublings(_G)


def _mul_base(s: int) -> Point:
    acc: Point = (0, 1, 1, 0)
    i = 0
    while s > 0:
        if s & 1:
            acc = _add(acc, _G_TABLE[i])
        s >>= 1
        i += 1
    return acc


def _compress(point: Point) -> bytes:
    zinv = pow(point[2], _P - 2, _P)
    x, y = point[0] * zinv % _P, point[1] * zinv % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _decompress(data: bytes) -> Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def _h(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(_DOM2_PH + b"".join(parts)).digest(), "little") % _Q


def sign(seed: bytes, prehash: bytes, public: bytes | None = None) -> bytes:
    """Sign a SHA-512 prehash with the 32-byte Ed25519 private key (seed).

    ``public`` (the 32-byte public key, if the caller has it) saves one scalar
    multiplication; it must belong to ``seed``.
    """
    if len(seed) != 32 or len(prehash) != PREHASH_LEN:
        raise ValueError("bad length")
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    if public is None:
        public = _compress(_mul_base(a))
    r = _h(h[32:], prehash)
    big_r = _compress(_mul_base(r))
    s = (r + _h(big_r, public, prehash) * a) % _Q
    return big_r + int.to_bytes(s, 32, "little")


def verify(public: bytes, prehash: bytes, signature: bytes) -> bool:
    if len(signature) != SIGNATURE_LEN or len(prehash) != PREHASH_LEN:
        return False
    point_a = _decompress(public)
    point_r = _decompress(signature[:32])
    if point_a is None or point_r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _Q:
        return False
    k = _h(signature[:32], public, prehash)
    return _equal(_mul_base(s), _add(point_r, _mul(k, point_a)))
