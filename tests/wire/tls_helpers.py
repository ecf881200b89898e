"""A throwaway certificate authority and Trent servers over HTTPS, for the TLS wire tests.

The CA and server certificates are made with pyca/cryptography (the certificates a
real deployment gets from its PKI look the same: a CA, a leaf with SANs for the
names and addresses clients connect to).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fixtures.trent_server import TrentServer, free_port


@dataclass(frozen=True)
class TestCa:
    cert_pem: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def issue(self, directory: Path, name: str, common_name: str = "trent.test") -> tuple[Path, Path]:
        """A server certificate for localhost / 127.0.0.1, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        os.chmod(key_path, 0o600)
        return cert_path, key_path


def make_ca(directory: Path) -> TestCa:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Trent test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = directory / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TestCa(path, key, cert)


def start_server(data_dir: Path, *args: str, scheme: str = "https", ca: TestCa | None = None,
                 dev: bool = True, timeout: float = 30.0, env: dict[str, str] | None = None) -> TrentServer:
    """`trent serve` with ``args``; healthy once /_trent/health answers over ``scheme``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(data_dir.parent / f"trent-{port}.log", "wb")  # noqa: SIM115 - lives as long as the server
    command = [sys.executable, "-m", "trent.cli.main", "serve", *(["--dev"] if dev else []), "--host", "127.0.0.1",
               "--port", str(port), "--data-dir", str(data_dir), *args]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"{scheme}://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(ca.cert_pem)) if ca is not None else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"trent exited with {process.returncode}; see {log.name}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/_trent/health", timeout=1, context=context) as response:
                if response.status == 200:
                    return TrentServer(url, data_dir, process)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"trent did not become healthy within {timeout}s; see {log.name}")
