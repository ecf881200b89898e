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
    # A body over the server's limit, refused at the door: S3's code, the door's 413 (S3 itself
    # answers EntityTooLarge with 400; the status a client sees today stays).
    e.RequestBodyTooLarge: S3WireError("EntityTooLarge", 413),
    e.KMSInvalidState: S3WireError("ServiceUnavailable", 503),  # the sealed-root gate
    e.Throttling: S3WireError("SlowDown", 503, "Please reduce your request rate."),
    e.KMSInternal: S3WireError("InternalError", 500, "We encountered an internal error. Please try again."),
}


# Issue 17: S3's own codes (the class name is the code unless S3 adds a suffix) and status.
_S3_STATUS: dict[type[e.S3Error], tuple[int, str | None]] = {
    e.NoSuchKey: (404, None), e.NoSuchUpload: (404, None), e.NoSuchBucketPolicy: (404, None),
    e.ServerSideEncryptionConfigurationNotFound: (404, "ServerSideEncryptionConfigurationNotFoundError"),
    e.BucketAlreadyExists: (409, None), e.BucketAlreadyOwnedByYou: (409, None), e.BucketNotEmpty: (409, None),
    e.IllegalLocationConstraint: (400, "IllegalLocationConstraintException"),
    e.InvalidEncryptionAlgorithm: (400, "InvalidEncryptionAlgorithmError"),
    e.InvalidRange: (416, None), e.PreconditionFailed: (412, None), e.NotModified: (304, None),
    e.KeyTooLong: (400, "KeyTooLongError"), e.InvalidChunkSize: (403, "InvalidChunkSizeError"),
    e.InvalidPartNumber: (416, None), e.HeaderNotImplemented: (501, "NotImplemented"),
    e.PresignedUrlNotValidNow: (403, "AccessDenied"), e.HeadersNotSigned: (403, "AccessDenied"),
}
S3_ERRORS.update({cls: S3WireError(code or cls.__name__, status) for cls, (status, code) in _S3_STATUS.items()})


def s3_wire_error(exc: e.TrentError) -> S3WireError:
    for cls in type(exc).__mro__:
        found = S3_ERRORS.get(cls)
        if found is not None:
            return found
    if isinstance(exc, e.S3Error):
        return S3WireError(type(exc).__name__, 400)
    return S3_ERRORS[e.KMSInternal]


def sse_wire_error(exc: e.TrentError) -> S3WireError:
    """An error raised by an SSE operation's use case (issue 17, s3-sse spec §4): S3's own
    codes, AccessDenied as 403, and a KMS error S3 met calling KMS for the caller as
    ``KMS.<KMS's __type>`` (400), e.g. ``KMS.NotFoundException``, ``KMS.DisabledException``."""
    if isinstance(exc, (e.S3Error, e.AccessDenied, e.AuthError, e.ServerError, e.Throttling)):
        return s3_wire_error(exc)
    if isinstance(exc, e.ClientError):
        from trent.protocol.errors import wire_error

        return S3WireError(f"KMS.{wire_error(exc).type_name}", 400)
    return s3_wire_error(exc)


def error_document(exc: e.TrentError, request_id: str, *, resource: str | None = None,
                   key: str | None = None, bucket: str | None = None,
                   wire: S3WireError | None = None) -> tuple[int, bytes, str, str | None]:
    """(status, body, code, message) of an S3 error; an S3Error's ``details`` become
    elements of their own (``UploadId``, ``ActualObjectSize``, ``ArgumentName``...)."""
    wire = wire or s3_wire_error(exc)
    message = wire.message if wire.message is not None else exc.message
    details = dict(getattr(exc, "details", None) or {})
    bucket = details.pop("BucketName", bucket)
    key = details.pop("Key", key)
    fields = [("Code", wire.code), ("Message", message), ("BucketName", bucket), ("Key", key),
              *details.items(), ("Resource", resource), ("RequestId", request_id)]
    return wire.status, document("Error", fields, namespace=False), wire.code, message
