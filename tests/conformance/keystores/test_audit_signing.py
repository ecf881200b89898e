"""Digest signing keys under each root of trust (issue 16): the same contract for the
root-wrapped signer and the HSM signer (SoftHSM2), checked with python-rsa — the library
the AWS CLI's validate-logs verifies digests with — as the independent other side."""

from __future__ import annotations

import rsa
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import PKCS11Error
import pytest

from trent.crypto import digest_signing
from trent.keystores.audit_signing import HSM, ROOT_WRAPPED, HsmDigestSigner, RootWrappedDigestSigner
from trent.keystores.base import KeyStoreError
from trent.keystores.root_key import AesRootKey


def _check_contract(signer, *, wrong_blob: bytes) -> bytes:
    public, blob = signer.new_key()
    fp = digest_signing.fingerprint(public)
    assert len(fp) == 32 and int(fp, 16) >= 0
    message = b"2026-01-01T01:00:00Z\nbucket/AWSLogs/...json.gz\n" + b"ab" * 32 + b"\nnull"
    signature = signer.sign(blob, fp, message)
    assert len(signature) == 256  # RSA 2048
    # python-rsa, as awscli/customizations/cloudtrail/validation.py does it
    assert rsa.verify(message, signature, rsa.PublicKey.load_pkcs1(public, format="DER")) == "SHA-256"
    assert digest_signing.verify(public, message, signature)
    assert not digest_signing.verify(public, message + b"x", signature)
    with pytest.raises(KeyStoreError):
        signer.sign(wrong_blob, fp, message)
    return blob


def test_root_wrapped_signer() -> None:
    root = AesRootKey(bytes(range(32)))
    signer = RootWrappedDigestSigner(root)
    assert signer.kind == ROOT_WRAPPED
    blob = _check_contract(signer, wrong_blob=b"\x01" + bytes(40))
    assert b"PRIVATE" not in blob and len(blob) > 1000  # a wrapped PKCS#8 key, not a reference
    # the blob is bound to its fingerprint: under another key's name it does not open
    public2, _ = signer.new_key()
    with pytest.raises(KeyStoreError):
        RootWrappedDigestSigner(root).sign(blob, digest_signing.fingerprint(public2), b"m")


def test_hsm_signer_keeps_the_private_key_in_the_token(softhsm) -> None:
    from trent.keystores.hsm_root import HsmRootKey
    from trent.keystores.pkcs11 import TokenConfig, load_module

    root = HsmRootKey(TokenConfig(softhsm.module, token_label="root"), softhsm.user_pin)
    try:
        signer = HsmDigestSigner(root.token)
        assert signer.kind == HSM
        blob = _check_contract(signer, wrong_blob=b"not-an-hsm-reference")
        assert blob.startswith(b"P11S") and len(blob) == 4 + 16
        session = load_module(softhsm.module).get_token(token_label="root").open()
        try:
            private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=blob[4:])
            assert private.key_type is KeyType.RSA
            assert private[Attribute.SENSITIVE] is True and private[Attribute.EXTRACTABLE] is False
            with pytest.raises(PKCS11Error):
                private[Attribute.PRIVATE_EXPONENT]
        finally:
            session.close()
    finally:
        root.close()
