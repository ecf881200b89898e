"""TLS for both front doors (issue 20): ``--tls-cert`` / ``--tls-key``, reloaded on SIGHUP.

One :class:`ssl.SSLContext` per process, TLS 1.2 or newer only (AWS KMS endpoints refuse
TLS 1.0/1.1 too), server-side cipher preference as OpenSSL's defaults give it. A reload
loads the files again *into the same context*: OpenSSL uses a context's certificate
for every handshake that starts after the load, so new connections get the new
certificate and established ones carry on undisturbed. A reload that fails (a
half-written file, a key that does not match) keeps the old certificate and says so
in the log; the server never stops serving because of it.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("trent.tls")


@dataclass
class TlsFiles:
    cert: Path
    key: Path
    context: ssl.SSLContext = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.options |= ssl.OP_NO_COMPRESSION
        context.load_cert_chain(str(self.cert), str(self.key))  # fails at start: a config error
        self.context = context

    def reload(self) -> bool:
        """SIGHUP: the files again, into the live context. False (and a log line) if they
        do not load; the previous certificate stays in use."""
        with self._lock:
            try:
                # Tried on a scratch context first: a failed load can leave a context with
                # the new certificate and the old key, which would fail every handshake.
                ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(self.cert), str(self.key))
                self.context.load_cert_chain(str(self.cert), str(self.key))
            except (OSError, ssl.SSLError) as exc:
                log.error("TLS certificate reload failed; keeping the previous one: %s", exc)
                return False
        log.info("TLS certificate reloaded from %s", self.cert)
        return True
