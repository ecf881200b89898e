"""S3's error map: exception type -> Code and HTTP status, and the error document.

    <Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
      <Key>...</Key><RequestId>...</RequestId></Error>

Front-end errors get S3's codes (it does not use the JSON services' names): a wrong
signature is SignatureDoesNotMatch, an unknown access key InvalidAccessKeyId, a missing
Authorization header AccessDenied. A HEAD answer carries no body, only the status.
"""

from __future__ import annotations

from dataclasses import dataclass

from trent import errors as e
from trent.protocol.s3.xml import document


@dataclass(frozen=True, slots=True)
class S3WireError:
    code: str
    status: int
    message: str | None = None  # replaces the exception's own message


S3_ERRORS: dict[type[e.TrentError], S3WireError] = {
    e.MissingAuthenticationToken: S3WireError("AccessDenied", 403, "Access Denied"),
    e.IncompleteSignature: S3WireError("AuthorizationHeaderMalformed", 400),
    e.InvalidSignature: S3WireError(
        "SignatureDoesNotMatch", 403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    e.UnrecognizedClient: S3WireError(
        "InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."
    ),
    e.ExpiredToken: S3WireError("ExpiredToken", 400, "The provided token has expired."),
    e.AccessDenied: S3WireError("AccessDenied", 403),
    e.NoSuchBucket: S3WireError("NoSuchBucket", 404),
    e.NoSuchObject: S3WireError("NoSuchKey", 404),
    e.InvalidObjectRange: S3WireError("InvalidRange", 416),
    e.FeatureNotImplemented: S3WireError("NotImplemented", 501),
    e.UnknownOperation: S3WireError("MethodNotAllowed", 405,
                                    "The specified method is not allowed against this resource."),
    e.ValidationError: S3WireError("InvalidArgument", 400),
    e.SerializationError: S3WireError("InvalidRequest", 400),
    e.KMSInvalidState: S3WireError("ServiceUnavailable", 503),  # the sealed-root gate
    e.Throttling: S3WireError("SlowDown", 503, "Please reduce your request rate."),
    e.KMSInternal: S3WireError("InternalError", 500, "We encountered an internal error. Please try again."),
}


def s3_wire_error(exc: e.TrentError) -> S3WireError:
    for cls in type(exc).__mro__:
        found = S3_ERRORS.get(cls)
        if found is not None:
            return found
    return S3_ERRORS[e.KMSInternal]


def error_document(exc: e.TrentError, request_id: str, *, resource: str | None = None,
                   key: str | None = None, bucket: str | None = None) -> tuple[int, bytes, str, str | None]:
    """(status, body, code, message) of an S3 error."""
    wire = s3_wire_error(exc)
    message = wire.message if wire.message is not None else exc.message
    fields = [("Code", wire.code), ("Message", message), ("BucketName", bucket), ("Key", key),
              ("Resource", resource), ("RequestId", request_id)]
    return wire.status, document("Error", fields, namespace=False), wire.code, message
