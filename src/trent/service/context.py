"""Who is asking, where, and when: passed to every use case."""

from __future__ import annotations

from dataclasses import dataclass

from trent.domain.frozen import fast_init
from trent.domain.principals import Principal


@fast_init
@dataclass(frozen=True, slots=True)
class RequestContext:
    principal: Principal
    access_key_id: str | None
    region: str
    partition: str
    request_id: str
    now: float
    source_ip: str
    user_agent: str | None = None
    # GrantTokens of the request (spec §8): grants they name take effect at once.
    grant_tokens: tuple[str, ...] = ()
    # Set when an integrated Trent service (S3) calls KMS on the caller's behalf:
    # ``<service>.<region>.amazonaws.com``, the kms:ViaService condition key (spec §7.4).
    via_service: str | None = None
    # aws:SecureTransport: the request came over TLS (Trent's own, or a trusted proxy's;
    # issue 20) — S3's SSE-C and bucket policies read it too (issue 17).
    secure_transport: bool = False

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    def via(self, via_service: str) -> RequestContext:
        """This caller's context for a call a Trent service makes on its behalf
        (``kms:ViaService``). Built field by field: ``dataclasses.replace`` costs several
        times more, and S3 asks for one on every SSE-KMS read and write."""
        return RequestContext(self.principal, self.access_key_id, self.region, self.partition, self.request_id,
                              self.now, self.source_ip, self.user_agent, self.grant_tokens, via_service,
                              self.secure_transport)

