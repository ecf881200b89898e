"""server/tls.py: the context Trent serves with (issue 20)."""

from __future__ import annotations

import ssl

from tests.wire.tls_helpers import make_ca
from trent.server.tls import TlsFiles


def test_tls_1_2_minimum_and_reload(tmp_path) -> None:
    ca = make_ca(tmp_path)
    cert, key = ca.issue(tmp_path, "one", "one.test")
    files = TlsFiles(cert, key)
    # Not left to the host's OpenSSL policy (Debian's also says TLSv1.2; others do not).
    assert files.context.minimum_version is ssl.TLSVersion.TLSv1_2
    other_cert, other_key = ca.issue(tmp_path, "two", "two.test")
    cert.write_bytes(other_cert.read_bytes())
    assert files.reload() is False  # two's certificate with one's key: refused, nothing changed
    key.write_bytes(other_key.read_bytes())
    assert files.reload() is True
    cert.write_text("not a certificate")
    assert files.reload() is False
