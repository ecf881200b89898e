"""Known-answer vectors in tests/vectors/envelope (provenance in its README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trent import envelope as ev

DIR = Path(__file__).resolve().parents[2] / "vectors" / "envelope"
MANIFEST = json.loads((DIR / "manifest.json").read_text())
PLAINTEXT = (DIR / MANIFEST["plaintext_file"]).read_bytes()
KEYRING = ev.RawAesKeyring(MANIFEST["namespace"], MANIFEST["key_name"], bytes.fromhex(MANIFEST["key_hex"]))


@pytest.mark.parametrize("vector", MANIFEST["vectors"], ids=lambda v: v["file"])
def test_decrypts(vector: dict[str, object]) -> None:
    ct = (DIR / str(vector["file"])).read_bytes()
    policy = (ev.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT if vector["committing"]
              else ev.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    d = ev.decrypt(ct, keyring=KEYRING, commitment_policy=policy,
                   encryption_context=MANIFEST["encryption_context"])
    assert d.plaintext == PLAINTEXT
    assert d.header.suite.suite_id == int(str(vector["suite"]), 16)
    assert d.header.frame_length == vector["frame_length"]
    if not vector["committing"]:
        with pytest.raises(ev.DecryptionFailed):
            ev.decrypt(ct, keyring=KEYRING)


def test_trent_writes_the_pinned_bytes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", DIR / "generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.trent_deterministic() == (DIR / "trent-0478-deterministic.bin").read_bytes()
