"""protocol/transport.py: who is believed about TLS and the client address (issue 20)."""

from __future__ import annotations

import pytest

from trent import errors
from trent.protocol.transport import PLAIN_HTTP_REFUSED, Connection, TransportPolicy, parse_networks

PROXY = "10.0.0.5"
HOST = (b"host", b"kms.example:443")


def _headers(proto: str | None = None, forwarded_for: str | None = None):
    out = [HOST]
    if proto is not None:
        out.append((b"x-forwarded-proto", proto.encode()))
    if forwarded_for is not None:
        out.append((b"x-forwarded-for", forwarded_for.encode()))
    return out


def test_own_tls_is_secure_with_details() -> None:
    origin = TransportPolicy(allow_plain=False).origin(Connection("192.0.2.1", True, "TLSv1.3", "TLS_AES_128_GCM_SHA256"),
                                                        _headers("http", "203.0.113.7"))
    assert origin.secure and origin.source_ip == "192.0.2.1"  # forwarded headers from a non-proxy: ignored
    assert origin.tls_details == {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                                  "clientProvidedHostHeader": "kms.example:443"}


def test_plain_http_refused_unless_allowed() -> None:
    with pytest.raises(errors.AccessDenied) as info:
        TransportPolicy(allow_plain=False).origin(Connection("192.0.2.1"), _headers())
    assert info.value.message == PLAIN_HTTP_REFUSED
    origin = TransportPolicy(allow_plain=True).origin(Connection("192.0.2.1"), _headers("https", "203.0.113.7"))
    assert (origin.secure, origin.source_ip, origin.tls_details) == (False, "192.0.2.1", None)


def test_trusted_proxy_decides() -> None:
    policy = TransportPolicy(allow_plain=False, trusted_proxies=parse_networks(["10.0.0.0/24", "2001:db8::/32"]))
    origin = policy.origin(Connection(PROXY), _headers("https", "198.51.100.1, 203.0.113.7"))
    assert origin.secure and origin.source_ip == "203.0.113.7"
    assert origin.tls_details == {"clientProvidedHostHeader": "kms.example:443"}
    # A chain of trusted proxies: the right-most address that is not one of them.
    assert policy.origin(Connection(PROXY), _headers("https", "203.0.113.7, 10.0.0.9")).source_ip == "203.0.113.7"
    # Plain HTTP behind the proxy is refused in production...
    with pytest.raises(errors.AccessDenied):
        policy.origin(Connection(PROXY), _headers("http", "203.0.113.7"))
    # ...and garbage in X-Forwarded-For does not become the source address.
    assert policy.origin(Connection(PROXY), _headers("https", "203.0.113.7, not-an-ip")).source_ip == PROXY
    assert policy.origin(Connection(PROXY), _headers("https")).source_ip == PROXY


def test_bad_networks_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/33"])


def test_plain_origins_are_per_peer_and_shared() -> None:
    """Issue 16: a plain request's origin is one frozen object per peer address (no
    per-request header scan); another peer gets its own, and headers never leak in."""
    policy = TransportPolicy(allow_plain=True)
    a = policy.origin(Connection("10.0.0.1"), [(b"host", b"one"), (b"x-forwarded-for", b"1.2.3.4")])
    again = policy.origin(Connection("10.0.0.1"), [(b"host", b"two")])
    other = policy.origin(Connection("10.0.0.2"), [])
    assert a is again
    assert (a.source_ip, a.secure, a.tls_details) == ("10.0.0.1", False, None)
    assert (other.source_ip, other.secure, other.tls_details) == ("10.0.0.2", False, None)
