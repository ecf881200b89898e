"""Who is asking, where, and when: passed to every use case."""

from __future__ import annotations

from dataclasses import dataclass, replace

from trent.domain.principals import Principal


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
    # Another AWS service calling KMS for this caller (issue 17: S3 SSE-KMS): the
    # kms:ViaService condition value, e.g. "s3.us-east-1.amazonaws.com"; None for direct
    # calls (spec §7.4: the key is then absent). See ``via_service``.
    via_service: str | None = None
    # aws:SecureTransport: the request reached Trent over TLS (Trent serves plain HTTP
    # today, so False unless a front door says otherwise).
    secure_transport: bool = False

    @property
    def account_id(self) -> str:
        return self.principal.account_id


def via_service(ctx: RequestContext, service: str) -> RequestContext:
    """The same caller, acting through ``service`` (``"s3"``): what S3 hands the KMS use
    cases so the key policy sees kms:ViaService = ``<service>.<region>.amazonaws.com``
    (s3-sse spec §4) while the principal, account and source stay the caller's."""
    return replace(ctx, via_service=f"{service}.{ctx.region}.amazonaws.com", grant_tokens=())
