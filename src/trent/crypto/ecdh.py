"""ECDH on the NIST curves (spec §3.5): the raw shared x-coordinate.

The peer key is a DER SubjectPublicKeyInfo that must be on the private key's curve;
anything else (unparseable, other curve, other key type) raises :class:`PeerKeyError`
with no detail, which the service answers with a message-less ValidationException.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from trent.crypto.private_keys import PrivateKey


class PeerKeyError(Exception):
    """The peer public key is unusable. Deliberately carries no reason."""


def derive(private: PrivateKey, peer_spki_der: bytes) -> bytes:
    try:
        peer = serialization.load_der_public_key(peer_spki_der)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # what pyca raises for junk DER
        raise PeerKeyError() from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(peer, ec.EllipticCurvePublicKey):
        raise PeerKeyError()
    if peer.curve.name != private.curve.name:
        raise PeerKeyError()
    try:
        return private.exchange(ec.ECDH(), peer)
    except ValueError:
        raise PeerKeyError() from None
