"""Read the HSM's objects through PKCS#11 as a user of the token would (issue 7 proof):
a key Trent created is AES, sensitive, never extractable, and its value cannot be read."""

from __future__ import annotations

import pytest
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import PKCS11Error

from trent.keystores.pkcs11 import Pkcs11KeyStore, TokenConfig, load_module, parse_reference


def test_hsm_keys_are_sensitive_and_not_extractable(softhsm):
    store = Pkcs11KeyStore(TokenConfig(softhsm.module, token_label="conformance"), softhsm.user_pin, "cks-objects")
    try:
        _, wrapped = store.new_symmetric_material("k-objects")
        ref = parse_reference(wrapped)
        assert ref is not None and ref[0] == "cks-objects"
        # A separate session, found independently by label, as any PKCS#11 user would.
        token = load_module(softhsm.module).get_token(token_label="conformance")
        session = token.open()  # the store's login is application-wide
        try:
            key = session.get_key(object_class=ObjectClass.SECRET_KEY, label="trent:k-objects")
            assert key.key_type is KeyType.AES
            assert key[Attribute.VALUE_LEN] == 32
            assert key[Attribute.SENSITIVE] is True
            assert key[Attribute.EXTRACTABLE] is False
            assert key[Attribute.NEVER_EXTRACTABLE] is True
            assert key[Attribute.TOKEN] is True
            with pytest.raises(PKCS11Error):
                key[Attribute.VALUE]
        finally:
            session.close()
    finally:
        store.close()


def test_wrong_pin_and_unknown_token_are_keystore_errors(softhsm):
    from trent.keystores.pkcs11 import LoginFailed, TokenNotFound

    with pytest.raises(TokenNotFound):
        Pkcs11KeyStore(TokenConfig(softhsm.module, token_label="no-such-token"), softhsm.user_pin, "x")
    with pytest.raises(LoginFailed):
        Pkcs11KeyStore(TokenConfig(softhsm.module, token_label="cks-two"), "wrong-pin-0000", "x")


def test_hsm_root_wraps_inside_the_hsm(softhsm):
    """HSM root mode: the root is a sensitive, non-extractable token key; wrap/unwrap by the HSM."""
    from trent.keystores.base import KeyStoreError
    from trent.keystores.hsm_root import ROOT_LABEL, HsmRootKey
    from trent.keystores.software import SoftwareKeyStore

    root = HsmRootKey(TokenConfig(softhsm.module, token_label="root"), softhsm.user_pin)
    try:
        blob = root.wrap(b"material bytes", b"aad")
        assert blob[0] == 0x02 and b"material bytes" not in blob
        assert root.unwrap(blob, b"aad") == b"material bytes"
        with pytest.raises(KeyStoreError):
            root.unwrap(blob, b"other aad")
        # The software store works unchanged on top of it.
        store = SoftwareKeyStore(root)
        from trent.domain.keys import KeyMaterial, MaterialState

        mid, wrapped = store.new_symmetric_material("k")
        m = KeyMaterial("k", mid, wrapped, MaterialState.CURRENT, 0.0)
        assert store.open(m, store.seal(m, b"hi", b"a"), b"a") == b"hi"
        # Same label on the next start: the same key.
        again = HsmRootKey(TokenConfig(softhsm.module, token_label="root"), softhsm.user_pin)
        assert again.unwrap(blob, b"aad") == b"material bytes"
        token = load_module(softhsm.module).get_token(token_label="root")
        session = token.open()
        try:
            key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=ROOT_LABEL)
            assert key[Attribute.SENSITIVE] is True and key[Attribute.EXTRACTABLE] is False
            with pytest.raises(PKCS11Error):
                key[Attribute.VALUE]
        finally:
            session.close()
    finally:
        root.close()
