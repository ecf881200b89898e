"""The KMS calls S3 makes for a caller, as records for the audit path (s3-sse spec §4).

Each GenerateDataKey / Decrypt that SSE-KMS (or a Bucket Key) makes is a KMS API call
of its own in CloudTrail: the caller's ``userIdentity`` with ``invokedBy:
"s3.amazonaws.com"``, source IP and user agent ``"s3.amazonaws.com"``, and the
encryption context in ``requestParameters``. The use cases report every such call,
success or failure, to ``S3Deps.kms_audit``; the front door turns the record into the
event (``protocol/via_service_audit.py``) and writes it through the one audit sink, so
KMS calls via S3 are audited exactly like direct ones. A hook that raises fails the S3
request (audit is fail-closed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from trent.domain.frozen import fast_init
from trent.errors import TrentError
from trent.service.context import RequestContext

INVOKED_BY = "s3.amazonaws.com"


@fast_init
@dataclass(frozen=True, slots=True)
class KmsCall:
    ctx: RequestContext  # the caller, acting via S3 (``ctx.via_service`` is set)
    operation: str  # "GenerateDataKey" | "Decrypt"
    request_key_id: str | None  # KeyId as S3 sent it (GenerateDataKey); None for Decrypt
    key_arn: str | None  # the key that was used (None when resolution failed)
    encryption_context: Mapping[str, str]
    started: float
    error: TrentError | None = None
    key_spec: str | None = "AES_256"  # GenerateDataKey's KeySpec


KmsAuditHook = Callable[[KmsCall], None]
