"""Custom key stores of type AWS_CLOUDHSM on SoftHSM2, through boto3 (issue 7, spec §10.1, §4.1).

A private server per module: it is started with ``--hsm-cluster`` entries naming
the tokens of the test SoftHSM2 (tests/fixtures/softhsm.py).
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.helpers import expect_error

CLUSTER = "cluster-trentcksone"
CLUSTER_TWO = "cluster-trentckstwo"
MISSING_CLUSTER = "cluster-doesnotexist"
# Form-valid trust anchor: a PEM block around a DER SEQUENCE.
ANCHOR = "-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"\x30\x03\x02\x01\x01").decode() + "\n-----END CERTIFICATE-----\n"


@pytest.fixture(scope="module")
def hsm_server(softhsm):
    with tempfile.TemporaryDirectory(prefix="trent-cks-") as tmp:
        server = start_trent(
            Path(tmp) / "data",
            "--hsm-cluster", f"{CLUSTER}={softhsm.module}:token=cks-one",
            "--hsm-cluster", f"{CLUSTER_TWO}={softhsm.module}:token=cks-two",
            "--hsm-cluster", f"{MISSING_CLUSTER}={softhsm.module}:token=no-such-token",
            env=softhsm.env,
        )
        try:
            yield server
        finally:
            stop_trent(server)


@pytest.fixture()
def hkms(hsm_server):
    return hsm_server.client()


def _create_store(kms, name, cluster=CLUSTER, password=None, softhsm=None):
    return kms.create_custom_key_store(
        CustomKeyStoreName=name, CloudHsmClusterId=cluster, TrustAnchorCertificate=ANCHOR,
        KeyStorePassword=password or softhsm.user_pin,
    )["CustomKeyStoreId"]


def _describe(kms, store_id):
    return kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]


def test_full_lifecycle_and_hsm_keys(hkms, softhsm):
    store_id = _create_store(hkms, "lifecycle", softhsm=softhsm)
    assert store_id.startswith("cks-") and len(store_id) == 21
    entry = _describe(hkms, store_id)
    assert entry["ConnectionState"] == "DISCONNECTED" and entry["CloudHsmClusterId"] == CLUSTER
    assert entry["CustomKeyStoreType"] == "AWS_CLOUDHSM" and entry["TrustAnchorCertificate"] == ANCHOR
    assert "KeyStorePassword" not in entry

    # CreateKey needs the store connected (spec §10.1).
    expect_error(lambda: hkms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id),
                 "CustomKeyStoreInvalidStateException")
    hkms.connect_custom_key_store(CustomKeyStoreId=store_id)
    assert _describe(hkms, store_id)["ConnectionState"] == "CONNECTED"
    hkms.connect_custom_key_store(CustomKeyStoreId=store_id)  # idempotent

    md = hkms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id, Description="in the HSM")["KeyMetadata"]
    assert md["Origin"] == "AWS_CLOUDHSM" and md["CustomKeyStoreId"] == store_id
    assert md["CloudHsmClusterId"] == CLUSTER and md["KeyState"] == "Enabled"
    described = hkms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert described["CustomKeyStoreId"] == store_id and described["CloudHsmClusterId"] == CLUSTER

    # Crypto runs inside the HSM.
    blob = hkms.encrypt(KeyId=md["KeyId"], Plaintext=b"hsm secret", EncryptionContext={"a": "b"})["CiphertextBlob"]
    assert hkms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"hsm secret"
    expect_error(lambda: hkms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "c"}), "InvalidCiphertextException")
    dk = hkms.generate_data_key(KeyId=md["KeyId"], KeySpec="AES_256")
    assert hkms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    dk2 = hkms.generate_data_key_without_plaintext(KeyId=md["KeyId"], NumberOfBytes=64)
    assert len(hkms.decrypt(CiphertextBlob=dk2["CiphertextBlob"])["Plaintext"]) == 64
    software = hkms.create_key()["KeyMetadata"]
    re = hkms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "b"}, DestinationKeyId=software["KeyId"])
    back = hkms.re_encrypt(CiphertextBlob=re["CiphertextBlob"], DestinationKeyId=md["KeyId"])
    assert hkms.decrypt(CiphertextBlob=back["CiphertextBlob"])["Plaintext"] == b"hsm secret"
    assert len(base64.b64decode(base64.b64encode(hkms.generate_random(NumberOfBytes=32, CustomKeyStoreId=store_id)["Plaintext"]))) == 32

    # Rotation and import are refused for keys in custom key stores, as AWS does.
    expect_error(lambda: hkms.enable_key_rotation(KeyId=md["KeyId"]), "UnsupportedOperationException")
    expect_error(lambda: hkms.get_parameters_for_import(
        KeyId=md["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"),
        "UnsupportedOperationException")
    expect_error(lambda: hkms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id, KeySpec="RSA_2048",
                                         KeyUsage="SIGN_VERIFY"), "UnsupportedOperationException")

    # Disconnect -> Unavailable -> KMSInvalidStateException; management still works.
    expect_error(lambda: hkms.delete_custom_key_store(CustomKeyStoreId=store_id), "CustomKeyStoreInvalidStateException")
    hkms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    assert _describe(hkms, store_id)["ConnectionState"] == "DISCONNECTED"
    assert hkms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Unavailable"
    expect_error(lambda: hkms.encrypt(KeyId=md["KeyId"], Plaintext=b"x"), "KMSInvalidStateException",
                 f"{md['Arn']} is unavailable.")
    expect_error(lambda: hkms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"}), "KMSInvalidStateException",
                 f"{md['Arn']} is unavailable.")
    hkms.update_key_description(KeyId=md["KeyId"], Description="still manageable")
    expect_error(lambda: hkms.generate_random(NumberOfBytes=8, CustomKeyStoreId=store_id),
                 "CustomKeyStoreInvalidStateException")

    # Reconnect -> works again, old ciphertexts included; the description change kept.
    hkms.connect_custom_key_store(CustomKeyStoreId=store_id)
    described = hkms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert described["KeyState"] == "Enabled" and described["Description"] == "still manageable"
    assert hkms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"hsm secret"

    # Delete: needs DISCONNECTED and no keys.
    hkms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    expect_error(lambda: hkms.delete_custom_key_store(CustomKeyStoreId=store_id), "CustomKeyStoreHasCMKsException")


def test_wrong_password_fails_then_recovers(hkms, softhsm):
    store_id = _create_store(hkms, "bad-pin", cluster=CLUSTER_TWO, password="not-the-pin")
    hkms.connect_custom_key_store(CustomKeyStoreId=store_id)
    entry = _describe(hkms, store_id)
    assert entry["ConnectionState"] == "FAILED" and entry["ConnectionErrorCode"] == "INVALID_CREDENTIALS"
    # Recover as AWS documents: disconnect, fix, connect.
    expect_error(lambda: hkms.update_custom_key_store(CustomKeyStoreId=store_id, KeyStorePassword=softhsm.user_pin),
                 "CustomKeyStoreInvalidStateException")
    expect_error(lambda: hkms.connect_custom_key_store(CustomKeyStoreId=store_id), "CustomKeyStoreInvalidStateException")
    hkms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    hkms.update_custom_key_store(CustomKeyStoreId=store_id, KeyStorePassword=softhsm.user_pin, NewCustomKeyStoreName="good-pin")
    hkms.connect_custom_key_store(CustomKeyStoreId=store_id)
    entry = _describe(hkms, store_id)
    assert entry["ConnectionState"] == "CONNECTED" and entry["CustomKeyStoreName"] == "good-pin"
    assert "ConnectionErrorCode" not in entry
    hkms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    hkms.delete_custom_key_store(CustomKeyStoreId=store_id)
    expect_error(lambda: _describe(hkms, store_id), "CustomKeyStoreNotFoundException")


def test_store_errors(hkms, softhsm):
    _create_store(hkms, "dup-name", softhsm=softhsm)
    expect_error(lambda: _create_store(hkms, "dup-name", softhsm=softhsm), "CustomKeyStoreNameInUseException")
    expect_error(lambda: _create_store(hkms, "unknown-cluster", cluster="cluster-notconfigured", softhsm=softhsm),
                 "CloudHsmClusterNotFoundException")
    expect_error(lambda: _create_store(hkms, "missing-token", cluster=MISSING_CLUSTER, softhsm=softhsm),
                 "CloudHsmClusterNotFoundException")
    expect_error(lambda: hkms.create_custom_key_store(
        CustomKeyStoreName="bad-anchor", CloudHsmClusterId=CLUSTER, TrustAnchorCertificate="not a certificate",
        KeyStorePassword=softhsm.user_pin), "IncorrectTrustAnchorException")
    expect_error(lambda: hkms.connect_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0"),
                 "CustomKeyStoreNotFoundException")
    expect_error(lambda: hkms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1234567890abcdef0"),
                 "CustomKeyStoreNotFoundException")
    expect_error(lambda: hkms.describe_custom_key_stores(CustomKeyStoreName="no-such-name"),
                 "CustomKeyStoreNotFoundException")


def test_hsm_key_material_is_in_the_hsm_only(hkms, hsm_server, softhsm):
    """The key row holds a reference; the HSM object is sensitive and not extractable."""
    import sqlite3

    from trent.keystores.pkcs11 import parse_reference

    store_id = _create_store(hkms, "objects", softhsm=softhsm)
    hkms.connect_custom_key_store(CustomKeyStoreId=store_id)
    key_id = hkms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)["KeyMetadata"]["KeyId"]
    db = sqlite3.connect(hsm_server.data_dir / "trent.db")
    (wrapped,) = db.execute("select wrapped from key_materials where key_id = ?", (key_id,)).fetchone()
    (pin_blob,) = db.execute("select wrapped_password from custom_key_stores where custom_key_store_id = ?",
                             (store_id,)).fetchone()
    db.close()
    ref = parse_reference(bytes(wrapped))
    assert ref is not None and ref[0] == store_id and len(bytes(wrapped)) < 64  # a reference, not key bytes
    assert softhsm.user_pin.encode() not in bytes(pin_blob)
    for path in hsm_server.data_dir.rglob("*"):
        if path.is_file():
            assert softhsm.user_pin.encode() not in path.read_bytes(), path


def test_deleting_an_hsm_key_destroys_its_object_in_the_hsm(hkms, hsm_server, softhsm):
    """At the end of the deletion window the key object leaves the token too (spec §10.1);
    read back through PKCS#11 as any user of the token would."""
    from pkcs11 import ObjectClass
    from pkcs11.exceptions import NoSuchKey

    from trent.keystores.pkcs11 import load_module

    store_id = _create_store(hkms, "deletion", cluster=CLUSTER_TWO, softhsm=softhsm)
    hkms.connect_custom_key_store(CustomKeyStoreId=store_id)
    doomed = hkms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)["KeyMetadata"]["KeyId"]
    kept = hkms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)["KeyMetadata"]["KeyId"]
    blob = hkms.encrypt(KeyId=kept, Plaintext=b"still here")["CiphertextBlob"]

    def labels() -> set[str]:
        session = load_module(softhsm.module).get_token(token_label="cks-two").open(user_pin=softhsm.user_pin)
        try:
            found = set()
            for key_id in (doomed, kept):
                try:
                    session.get_key(object_class=ObjectClass.SECRET_KEY, label=f"trent:{key_id}")
                    found.add(key_id)
                except NoSuchKey:
                    pass
            return found
        finally:
            session.close()

    assert labels() == {doomed, kept}
    hkms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    hsm_server.advance_clock("7d")
    expect_error(hkms.describe_key, "NotFoundException", KeyId=doomed)
    assert labels() == {kept}
    assert hkms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"still here"
