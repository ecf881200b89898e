"""How a request reached Trent, and whether Trent accepts it (issue 20: TLS and proxies).

The server describes the connection (:class:`Connection`: the peer address and, when
Trent terminated TLS itself, the protocol version and cipher); :class:`TransportPolicy`
turns that plus the request headers into the request's :class:`Origin` — the source IP
that policies (``aws:SourceIp``) and the audit (``sourceIPAddress``) see, whether the
request travelled over TLS (``aws:SecureTransport``, audit ``tlsDetails``) — or refuses it.

Rules (the operator chooses with ``--tls-cert``/``--tls-key``, ``--insecure-http`` and
``--trusted-proxy CIDR``):

- A connection Trent terminated with TLS is secure.
- A plain connection from a trusted proxy (a TLS terminator / load balancer in one of
  the ``--trusted-proxy`` networks) is what the proxy says: ``X-Forwarded-Proto: https``
  makes it secure, and the client address is taken from ``X-Forwarded-For`` — the
  right-most address that is not itself a trusted proxy (addresses to its left were
  written by the client and prove nothing). From anyone else those headers are ignored.
- Any other plain-HTTP request is refused outside ``--dev`` unless ``--insecure-http``
  (the refusal is audited like any other failed call).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trent import errors
from trent.protocol.header_lines import header_value

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Connection:
    peer: str  # the TCP peer's address
    tls: bool = False  # Trent terminated TLS on this connection
    tls_version: str | None = None  # e.g. "TLSv1.3" (unknown under uvicorn)
    cipher: str | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    source_ip: str
    secure: bool
    tls_details: dict[str, Any] | None = None  # CloudTrail tlsDetails, when secure


@functools.lru_cache(maxsize=4096)
def _plain_origin(peer: str) -> Origin:
    """A plain-HTTP request's origin depends on its peer address only; an Origin is frozen,
    so one per peer is shared (issue 16: saves the header scan and the frozen dataclass's
    ~0.5 µs __init__ on every request of the hot path)."""
    return Origin(peer, False)


PLAIN_HTTP_REFUSED = "Requests to this Trent server must use HTTPS: plain HTTP is refused."


def parse_networks(cidrs: Sequence[str]) -> tuple[IpNetwork, ...]:
    """``--trusted-proxy`` values; a bare address is a /32 (or /128)."""
    try:
        return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs)
    except ValueError as exc:
        raise ValueError(f"--trusted-proxy: {exc}") from None


@dataclass(frozen=True, slots=True)
class TransportPolicy:
    allow_plain: bool = True  # --dev, or --insecure-http
    trusted_proxies: tuple[IpNetwork, ...] = ()

    def _trusted(self, address: str) -> bool:
        if not self.trusted_proxies:
            return False
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)

    def origin(self, conn: Connection, headers: Sequence[tuple[bytes, bytes]]) -> Origin:
        """The request's origin; :class:`errors.AccessDenied` for refused plain HTTP."""
        if conn.tls:
            details = {"tlsVersion": conn.tls_version, "cipherSuite": conn.cipher,
                       "clientProvidedHostHeader": header_value(headers, b"host")}
            return Origin(conn.peer, True, {k: v for k, v in details.items() if v is not None})
        if self._trusted(conn.peer):
            secure = (header_value(headers, b"x-forwarded-proto") or "").strip().lower() == "https"
            source = self._client_behind_proxies(conn.peer, header_value(headers, b"x-forwarded-for"))
            if secure or self.allow_plain:
                return Origin(source, secure, {"clientProvidedHostHeader": header_value(headers, b"host")} if secure else None)
            raise errors.AccessDenied(PLAIN_HTTP_REFUSED)
        if self.allow_plain:
            return _plain_origin(conn.peer)
        raise errors.AccessDenied(PLAIN_HTTP_REFUSED)

    def _client_behind_proxies(self, peer: str, forwarded_for: str | None) -> str:
        if not forwarded_for:
            return peer
        for address in reversed([a.strip() for a in forwarded_for.split(",") if a.strip()]):
            if not self._trusted(address):
                try:
                    return str(ipaddress.ip_address(address))
                except ValueError:
                    return peer  # garbage from the client side: keep what we know
        return peer
