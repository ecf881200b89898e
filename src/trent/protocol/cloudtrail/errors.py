"""CloudTrail's wire map: exception type -> ``__type`` and HTTP status (issue 16).

CloudTrail's own errors (botocore cloudtrail model's error shapes) first; the front-end
errors every AWS JSON service shares (authentication, AccessDenied, validation) come from
the KMS map, whose names they are; the internal error is CloudTrail's ``InternalFailure``.
"""

from __future__ import annotations

from trent import errors as e
from trent.protocol.errors import WireError, wire_error

CLOUDTRAIL_ERRORS: dict[type[e.TrentError], WireError] = {
    e.InvalidLookupAttributes: WireError("InvalidLookupAttributesException"),
    e.InvalidTimeRange: WireError("InvalidTimeRangeException"),
    e.InvalidMaxResults: WireError("InvalidMaxResultsException"),
    e.InvalidNextToken: WireError("InvalidNextTokenException"),
    e.InvalidEventCategory: WireError("InvalidEventCategoryException"),
    e.TrailNotFound: WireError("TrailNotFoundException"),
    e.InvalidTrailName: WireError("InvalidTrailNameException"),
    e.CloudTrailArnInvalid: WireError("CloudTrailARNInvalidException"),
    e.UnsupportedOperation: WireError("UnsupportedOperationException"),
    e.Throttling: WireError("ThrottlingException"),
    # The sealed-root gate: the operation cannot run on this server until it is unsealed.
    e.KMSInvalidState: WireError("OperationNotPermittedException"),
    e.KMSInternal: WireError("InternalFailure", 500),
}


def cloudtrail_wire_error(exc: e.TrentError) -> WireError:
    for cls in type(exc).__mro__:
        found = CLOUDTRAIL_ERRORS.get(cls)
        if found is not None:
            return found
    return wire_error(exc)


def error_body(exc: e.TrentError) -> tuple[int, dict[str, str]]:
    wire = cloudtrail_wire_error(exc)
    body = {"__type": wire.type_name}
    if exc.message is not None:
        body[wire.message_field] = exc.message
    return wire.status, body
