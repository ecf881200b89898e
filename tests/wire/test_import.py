"""BYOK over the wire (spec §9): GetParametersForImport, ImportKeyMaterial with every
wrapping algorithm (wrapped by pyca and by openssl, independently of Trent), expiry on
the dev clock, re-import rules, DeleteImportedKeyMaterial, and the errors."""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil

import pytest
from cryptography.hazmat.primitives import serialization

from tests.fixtures.trent_server import start_trent, stop_trent
from tests.wire.helpers import expect_error
from tests.wire.import_helpers import ALGORITHMS, import_material, wrap, wrap_with_openssl

DAY = 86_400


@pytest.fixture(scope="module")
def lifecycle_server(tmp_path_factory):
    server = start_trent(tmp_path_factory.mktemp("import") / "data")
    yield server
    stop_trent(server)


@pytest.fixture()
def lkms(lifecycle_server):
    return lifecycle_server.client()


def _external(kms, **kwargs):
    return kms.create_key(Origin="EXTERNAL", **kwargs)["KeyMetadata"]


def test_external_key_starts_pending_import(kms):
    md = _external(kms)
    assert md["KeyState"] == "PendingImport" and md["Enabled"] is False and md["Origin"] == "EXTERNAL"
    assert "CurrentKeyMaterialId" not in md and "ExpirationModel" not in md
    expect_error(kms.encrypt, "KMSInvalidStateException", f"{md['Arn']} is pending import.",
                 KeyId=md["KeyId"], Plaintext=b"x")


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
def test_parameters_for_import(kms, spec):
    md = _external(kms)
    params = kms.get_parameters_for_import(KeyId=md["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec=spec)
    assert params["KeyId"] == md["Arn"]
    public = serialization.load_der_public_key(params["PublicKey"])
    assert public.key_size == int(spec.split("_")[1])
    assert 0 < len(params["ImportToken"]) <= 6144
    valid = params["ParametersValidTo"].timestamp() - md["CreationDate"].timestamp()
    assert abs(valid - DAY) < 120  # 24 hours


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_import_with_each_wrapping_algorithm(kms, algorithm):
    md = _external(kms)
    material = os.urandom(32)
    out = import_material(kms, md["KeyId"], material, algorithm, "RSA_3072" if "SHA_1" in algorithm else "RSA_2048")
    assert out["KeyId"] == md["Arn"] and len(out["KeyMaterialId"]) == 64
    now = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert now["KeyState"] == "Enabled" and now["Enabled"] is True
    assert now["CurrentKeyMaterialId"] == out["KeyMaterialId"]
    assert now["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE" and "ValidTo" not in now
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"imported")["CiphertextBlob"]
    back = kms.decrypt(CiphertextBlob=blob)
    assert back["Plaintext"] == b"imported" and back["KeyMaterialId"] == out["KeyMaterialId"]


def test_import_wrapped_by_the_openssl_cli(kms, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    md = _external(kms)
    params = kms.get_parameters_for_import(KeyId=md["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_4096")
    material = os.urandom(32)
    wrapped = wrap_with_openssl(params["PublicKey"], material, tmp_path)
    valid_to = dt.datetime.fromtimestamp(md["CreationDate"].timestamp() + 30 * DAY, dt.timezone.utc)
    kms.import_key_material(KeyId=md["KeyId"], ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ValidTo=valid_to)  # ExpirationModel defaults to KEY_MATERIAL_EXPIRES
    now = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert now["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert abs(now["ValidTo"].timestamp() - valid_to.timestamp()) < 1
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"openssl")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"openssl"


def test_same_material_in_two_keys_does_not_cross_decrypt(kms):
    material = os.urandom(32)
    a, b = _external(kms), _external(kms)
    id_a = import_material(kms, a["KeyId"], material)["KeyMaterialId"]
    id_b = import_material(kms, b["KeyId"], material)["KeyMaterialId"]
    assert id_a != id_b  # the id is derived from key id + material
    blob = kms.encrypt(KeyId=a["KeyId"], Plaintext=b"for a only")["CiphertextBlob"]
    expect_error(kms.decrypt, "IncorrectKeyException", CiphertextBlob=blob, KeyId=b["KeyId"])
    # Rewrite the header to name key b and its material: the payload still does not open.
    from trent.domain.ciphertext import encode_header

    forged = encode_header(b["KeyId"], id_b).raw + blob[50:]
    expect_error(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=forged)
    # And the same material imported again into the same key has the same id.
    assert import_material(kms, a["KeyId"], material)["KeyMaterialId"] == id_a


def test_import_errors(kms):
    md = _external(kms)
    other = _external(kms)
    params = kms.get_parameters_for_import(KeyId=md["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    good = wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    expect_error(kms.import_key_material, "ValidationException",
                 "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
                 KeyId=md["KeyId"], ImportToken=params["ImportToken"], EncryptedKeyMaterial=good)
    forever = {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
    expect_error(kms.import_key_material, "InvalidImportTokenException", KeyId=other["KeyId"],
                 ImportToken=params["ImportToken"], EncryptedKeyMaterial=good, **forever)
    garbled = bytearray(params["ImportToken"])
    garbled[40] ^= 1
    expect_error(kms.import_key_material, "InvalidImportTokenException", KeyId=md["KeyId"],
                 ImportToken=bytes(garbled), EncryptedKeyMaterial=good, **forever)
    expect_error(kms.import_key_material, "InvalidCiphertextException", KeyId=md["KeyId"],
                 ImportToken=params["ImportToken"], EncryptedKeyMaterial=os.urandom(256), **forever)
    short = wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(16))
    expect_error(kms.import_key_material, "IncorrectKeyMaterialException", KeyId=md["KeyId"],
                 ImportToken=params["ImportToken"], EncryptedKeyMaterial=short, **forever)
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"

    aws = kms.create_key()["KeyMetadata"]
    origin = f"{aws['Arn']} origin is AWS_KMS which is not valid for this operation."
    expect_error(kms.get_parameters_for_import, "UnsupportedOperationException", origin, KeyId=aws["KeyId"],
                 WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    expect_error(kms.import_key_material, "UnsupportedOperationException", origin, KeyId=aws["KeyId"],
                 ImportToken=params["ImportToken"], EncryptedKeyMaterial=good, **forever)
    expect_error(kms.delete_imported_key_material, "UnsupportedOperationException", origin, KeyId=aws["KeyId"])
    # RSAES_PKCS1_V1_5 is no longer accepted (spec §9).
    expect_error(kms.get_parameters_for_import, "ValidationException", KeyId=md["KeyId"],
                 WrappingAlgorithm="RSAES_PKCS1_V1_5", WrappingKeySpec="RSA_2048")


def test_reimport_rules_and_new_material_rotation(kms):
    md = _external(kms)
    first, second, third = os.urandom(32), os.urandom(32), os.urandom(32)
    id1 = import_material(kms, md["KeyId"], first)["KeyMaterialId"]
    blob1 = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"one")["CiphertextBlob"]
    # Re-import defaults to EXISTING_KEY_MATERIAL: other material is refused.
    expect_error(lambda **kw: import_material(kms, md["KeyId"], second, **kw), "IncorrectKeyMaterialException")
    expect_error(lambda **kw: import_material(kms, md["KeyId"], first, KeyMaterialId="0" * 64, **kw),
                 "IncorrectKeyMaterialException")
    assert import_material(kms, md["KeyId"], first, KeyMaterialId=id1)["KeyMaterialId"] == id1
    expect_error(kms.rotate_key_on_demand, "KMSInvalidStateException",
                 f"No available key material pending rotation for the key: {md['Arn']}.", KeyId=md["KeyId"])

    id2 = import_material(kms, md["KeyId"], second, ImportType="NEW_KEY_MATERIAL",
                          KeyMaterialDescription="next")["KeyMaterialId"]
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == id1
    id3_err = expect_error(lambda **kw: import_material(kms, md["KeyId"], third, ImportType="NEW_KEY_MATERIAL", **kw),
                           "KMSInvalidStateException")
    assert id3_err["message"].startswith("New key material (id: ") and id3_err["message"].endswith(
        f"cannot be imported into KMS key {md['Arn']}, because another key material (id: {id2}) is pending rotation.")
    listed = kms.list_key_rotations(KeyId=md["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [(r["KeyMaterialId"], r["KeyMaterialState"], r["ImportState"]) for r in listed] == [
        (id1, "CURRENT", "IMPORTED"), (id2, "PENDING_ROTATION", "IMPORTED")]
    assert listed[1]["KeyMaterialDescription"] == "next"
    assert kms.list_key_rotations(KeyId=md["KeyId"])["Rotations"] == []

    kms.rotate_key_on_demand(KeyId=md["KeyId"])
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == id2
    [rotated] = kms.list_key_rotations(KeyId=md["KeyId"])["Rotations"]
    assert rotated["KeyMaterialId"] == id2 and rotated["RotationType"] == "ON_DEMAND"
    blob2 = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"two")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob1)["KeyMaterialId"] == id1
    assert kms.decrypt(CiphertextBlob=blob2)["KeyMaterialId"] == id2


def test_delete_imported_key_material_and_reimport(kms):
    md = _external(kms)
    material = os.urandom(32)
    material_id = import_material(kms, md["KeyId"], material)["KeyMaterialId"]
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"survives")["CiphertextBlob"]
    out = kms.delete_imported_key_material(KeyId=md["KeyId"])
    assert out["KeyId"] == md["Arn"] and out["KeyMaterialId"] == material_id
    now = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert now["KeyState"] == "PendingImport" and "ExpirationModel" not in now
    assert now["CurrentKeyMaterialId"] == material_id  # retained (spec §5.2)
    expect_error(kms.decrypt, "KMSInvalidStateException", f"{md['Arn']} is pending import.", CiphertextBlob=blob)
    import_material(kms, md["KeyId"], material)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"survives"
    # Pending deletion: material can be deleted, the state stays.
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    kms.delete_imported_key_material(KeyId=md["KeyId"])
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    expect_error(kms.get_parameters_for_import, "KMSInvalidStateException", f"{md['Arn']} is pending deletion.",
                 KeyId=md["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")


def test_material_expires_at_valid_to(lifecycle_server, lkms):
    md = _external(lkms)
    created = md["CreationDate"].timestamp()
    material = os.urandom(32)
    valid_to = dt.datetime.fromtimestamp(created + 2 * DAY, dt.timezone.utc)
    material_id = import_material(lkms, md["KeyId"], material, ExpirationModel="KEY_MATERIAL_EXPIRES",
                                  ValidTo=valid_to)["KeyMaterialId"]
    blob = lkms.encrypt(KeyId=md["KeyId"], Plaintext=b"until expiry")["CiphertextBlob"]
    lifecycle_server.advance_clock("1d")
    assert lkms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    lifecycle_server.advance_clock("1d")
    now = lkms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert now["KeyState"] == "PendingImport" and "ExpirationModel" not in now and "ValidTo" not in now
    assert now["CurrentKeyMaterialId"] == material_id
    expect_error(lkms.encrypt, "KMSInvalidStateException", f"{md['Arn']} is pending import.",
                 KeyId=md["KeyId"], Plaintext=b"x")
    events = [e for e in lifecycle_server.audit_events() if e["eventName"] == "DeleteExpiredKeyMaterial"]
    assert any(e["resources"][0]["ARN"] == md["Arn"] and e["eventType"] == "AwsServiceEvent" for e in events)
    import_material(lkms, md["KeyId"], material)  # the same material brings the key back
    assert lkms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"until expiry"


def test_import_token_expires_after_24_hours(lifecycle_server, lkms):
    md = _external(lkms)
    params = lkms.get_parameters_for_import(KeyId=md["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                            WrappingKeySpec="RSA_2048")
    wrapped = wrap(params["PublicKey"], "RSAES_OAEP_SHA_1", os.urandom(32))
    lifecycle_server.advance_clock("25h")
    expect_error(lkms.import_key_material, "ExpiredImportTokenException", KeyId=md["KeyId"],
                 ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                 ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")


def test_import_state_survives_restart(tmp_path):
    server = start_trent(tmp_path / "data")
    material = os.urandom(32)
    try:
        kms = server.client()
        md = _external(kms)
        params = kms.get_parameters_for_import(KeyId=md["KeyId"], WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256",
                                               WrappingKeySpec="RSA_2048")
    finally:
        stop_trent(server)
    server = start_trent(tmp_path / "data")  # the token outlives a restart
    try:
        kms = server.client()
        wrapped = wrap(params["PublicKey"], "RSA_AES_KEY_WRAP_SHA_256", material)
        material_id = kms.import_key_material(
            KeyId=md["KeyId"], ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")["KeyMaterialId"]
        blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"restarted")["CiphertextBlob"]
    finally:
        stop_trent(server)
    server = start_trent(tmp_path / "data")
    try:
        kms = server.client()
        now = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
        assert now["KeyState"] == "Enabled" and now["CurrentKeyMaterialId"] == material_id
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"restarted"
    finally:
        stop_trent(server)
    # Neither the imported material nor anything of the wrapping exchange is at rest in clear.
    data_dir = tmp_path / "data"
    everything = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file() and p.name != "root.key")
    for secret in (material, params["ImportToken"][-64:]):
        for form in (secret, secret.hex().encode(), base64.b64encode(secret)):
            assert form not in everything


def _pkcs8(private_key) -> bytes:
    return private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def _create_or_skip(kms, **kwargs):
    try:
        return kms.create_key(Origin="EXTERNAL", **kwargs)["KeyMetadata"]
    except kms.exceptions.UnsupportedOperationException:
        pytest.skip("this key spec is not in this build yet")


def test_import_hmac_material(kms):
    import hashlib
    import hmac

    md = _create_or_skip(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    material = os.urandom(32)
    out = import_material(kms, md["KeyId"], material, "RSA_AES_KEY_WRAP_SHA_256")
    now = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert now["KeyState"] == "Enabled" and "CurrentKeyMaterialId" not in now  # spec §5.2: symmetric only
    mac = kms.generate_mac(KeyId=md["KeyId"], Message=b"msg", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert mac == hmac.new(material, b"msg", hashlib.sha256).digest()
    # Only the first material can ever be imported into an HMAC key.
    expect_error(lambda **kw: import_material(kms, md["KeyId"], os.urandom(32), ImportType="NEW_KEY_MATERIAL", **kw),
                 "IncorrectKeyMaterialException")
    assert import_material(kms, md["KeyId"], material)["KeyMaterialId"] == out["KeyMaterialId"]
    expect_error(lambda **kw: import_material(kms, md["KeyId"], os.urandom(16), **kw), "IncorrectKeyMaterialException")


def test_import_ecc_private_key(kms):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    md = _create_or_skip(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    expect_error(lambda **kw: import_material(kms, md["KeyId"], _pkcs8(ec.generate_private_key(ec.SECP384R1())),
                                              "RSA_AES_KEY_WRAP_SHA_256", **kw),
                 "IncorrectKeyMaterialException")
    private = ec.generate_private_key(ec.SECP256R1())
    import_material(kms, md["KeyId"], _pkcs8(private), "RSA_AES_KEY_WRAP_SHA_256")
    public = kms.get_public_key(KeyId=md["KeyId"])["PublicKey"]
    assert public == private.public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    signature = kms.sign(KeyId=md["KeyId"], Message=b"signed", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    private.public_key().verify(signature, b"signed", ec.ECDSA(hashes.SHA256()))


def test_import_rsa_private_key_needs_key_wrap(kms):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    md = _create_or_skip(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    import_material(kms, md["KeyId"], _pkcs8(private), "RSA_AES_KEY_WRAP_SHA_1", "RSA_4096")
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    blob = private.public_key().encrypt(b"to the imported key", oaep)
    out = kms.decrypt(KeyId=md["KeyId"], CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert out["Plaintext"] == b"to the imported key"


def test_more_import_rules(kms):
    md = _external(kms)
    material = os.urandom(32)
    # Nothing is associated yet: EXISTING_KEY_MATERIAL has nothing to match.
    expect_error(lambda **kw: import_material(kms, md["KeyId"], material, ImportType="EXISTING_KEY_MATERIAL", **kw),
                 "IncorrectKeyMaterialException")
    created = md["CreationDate"].timestamp()
    for bad in (created - DAY, created + 400 * DAY):  # in the past; more than 365 days ahead
        valid_to = dt.datetime.fromtimestamp(bad, dt.timezone.utc)
        expect_error(lambda **kw: import_material(kms, md["KeyId"], material, ExpirationModel="KEY_MATERIAL_EXPIRES",
                                                  ValidTo=valid_to, **kw), "ValidationException")
    forever_with_date = dt.datetime.fromtimestamp(created + DAY, dt.timezone.utc)
    expect_error(lambda **kw: import_material(kms, md["KeyId"], material, ValidTo=forever_with_date, **kw),
                 "ValidationException")
    material_id = import_material(kms, md["KeyId"], material)["KeyMaterialId"]
    # A Disabled key stays Disabled through delete and re-import of its material... once imported again.
    kms.disable_key(KeyId=md["KeyId"])
    expect_error(kms.delete_imported_key_material, "NotFoundException", KeyId=md["KeyId"], KeyMaterialId="1" * 64)
    assert kms.delete_imported_key_material(KeyId=md["KeyId"], KeyMaterialId=material_id)["KeyMaterialId"] == material_id
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"
    # Deleting again is a no-op, as is deleting from a key that never had material.
    kms.delete_imported_key_material(KeyId=md["KeyId"])
    fresh = _external(kms)
    assert "KeyMaterialId" not in kms.delete_imported_key_material(KeyId=fresh["KeyId"])
    import_material(kms, md["KeyId"], material)
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
