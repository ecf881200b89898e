"""The one domain exception tree.

Every failure that reaches a caller is a :class:`TrentError`. The class *is* the
error: ``protocol/errors.py`` maps each class to its AWS ``__type``, HTTP status
and message field, and nothing anywhere picks an error by matching message text
(spec §1.3-1.5, §13).

    TrentError                            message: str | None (None = AWS sends no message)
    ├── ClientError                       the caller's fault (HTTP 400)
    │   ├── AuthError                     front-end authentication (spec §1.5)
    │   │   ├── MissingAuthenticationToken
    │   │   ├── IncompleteSignature
    │   │   ├── InvalidSignature
    │   │   ├── UnrecognizedClient
    │   │   └── ExpiredToken
    │   ├── UnknownOperation
    │   ├── SerializationError
    │   │   └── RequestBodyTooLarge       a body over the server's limit (413 at the door)
    │   ├── ValidationError
    │   ├── AccessDenied
    │   ├── NotAuthorized
    │   ├── Throttling
    │   ├── NotFound
    │   ├── AlreadyExists
    │   ├── Disabled
    │   ├── KMSInvalidState
    │   ├── InvalidArn
    │   ├── InvalidMarker
    │   ├── InvalidCiphertext             opaque: never carries a reason
    │   ├── IncorrectKey
    │   ├── InvalidKeyUsage
    │   ├── KMSInvalidSignature           opaque
    │   ├── KMSInvalidMac                 opaque
    │   ├── UnsupportedOperation
    │   ├── DryRunOperation
    │   ├── LimitExceeded
    │   ├── TagError
    │   ├── MalformedPolicyDocument
    │   ├── InvalidGrantToken
    │   ├── InvalidGrantId
    │   ├── IncorrectKeyMaterial
    │   ├── InvalidImportToken
    │   ├── ExpiredImportToken
    │   ├── Conflict
    │   ├── S3Error                       S3's own codes (issue 17): NoSuchBucket, NoSuchKey,
    │   │                                 InvalidArgument, InvalidRequest, PreconditionFailed, ...
    │   └── CustomKeyStoreError           CustomKeyStore* family (spec §10)
    │       ├── CustomKeyStoreNotFound
    │       ├── CustomKeyStoreNameInUse
    │       ├── CustomKeyStoreInvalidState
    │       ├── CustomKeyStoreHasCMKs
    │       └── CloudHsmClusterNotFound / CloudHsmClusterInvalidConfiguration /
    │           IncorrectTrustAnchor
    ├── AuditTrailError               the CloudTrail API and the trail bucket (issue 16)
    │   ├── InvalidLookupAttributes / InvalidTimeRange / InvalidMaxResults /
    │   │   InvalidNextToken / InvalidEventCategory
    │   ├── TrailNotFound / InvalidTrailName / CloudTrailArnInvalid
    │   └── NoSuchObject / InvalidObjectRange / FeatureNotImplemented (S3; the trail
    │       bucket's NoSuchBucket is S3Error's)
    └── ServerError                       our fault or a dependency's (HTTP 5xx)
        ├── KMSInternal
        ├── KeyUnavailable
        └── DependencyTimeout

Crypto failures are opaque (habits §5): :class:`InvalidCiphertext`,
:class:`KMSInvalidSignature` and :class:`KMSInvalidMac` take no message, and the
reason a check failed is kept only in :attr:`TrentError.audit_reason`, which the
audit log may record and the wire never shows.
"""

from __future__ import annotations


class TrentError(Exception):
    """Base of every error Trent reports to a caller."""

    #: the message AWS uses when the raiser gives none; ``None`` = no message field
    default_message: str | None = None

    def __init__(self, message: str | None = None, *, audit_reason: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        # Private detail for the audit log / server log only; never serialized to the caller.
        self.audit_reason = audit_reason
        super().__init__(self.message or type(self).__name__)


class ClientError(TrentError):
    """The request cannot succeed as sent (HTTP 400)."""


class ServerError(TrentError):
    """Trent or one of its dependencies failed (HTTP 5xx)."""


# --- front end (spec §1.5) --------------------------------------------------


class AuthError(ClientError):
    """The request could not be authenticated."""


class MissingAuthenticationToken(AuthError):
    default_message = "Request is missing Authentication Token"


class IncompleteSignature(AuthError):
    pass


class InvalidSignature(AuthError):
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details."
    )


class UnrecognizedClient(AuthError):
    default_message = "The security token included in the request is invalid"


class ExpiredToken(AuthError):
    default_message = "The security token included in the request is expired"


class UnknownOperation(ClientError):
    pass


class SerializationError(ClientError):
    pass


class RequestBodyTooLarge(SerializationError):
    """A request body over the server's limit, refused at the door (413). KMS and STS
    answer it as the SerializationError it is; S3 names it ``EntityTooLarge``."""

    default_message = "Request body is too large."


class ValidationError(ClientError):
    pass


class AccessDenied(ClientError):
    pass


class NotAuthorized(ClientError):
    """Reserved ``alias/aws/`` names (spec §2.1); not a modeled shape, no message."""


class Throttling(ClientError):
    default_message = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."


# --- modeled KMS errors -------------------------------------------------------


class NotFound(ClientError):
    pass


class AlreadyExists(ClientError):
    pass


class Disabled(ClientError):
    pass


class KMSInvalidState(ClientError):
    pass


class InvalidArn(ClientError):
    pass


class InvalidMarker(ClientError):
    pass


class InvalidCiphertext(ClientError):
    """Opaque: tampering, wrong context and unparseable blobs all look the same."""

    def __init__(self, *, audit_reason: str | None = None) -> None:
        super().__init__(None, audit_reason=audit_reason)


class IncorrectKey(ClientError):
    default_message = "The key ID in the request does not identify a CMK that can perform this operation."


class InvalidKeyUsage(ClientError):
    pass


class KMSInvalidSignature(ClientError):
    def __init__(self, *, audit_reason: str | None = None) -> None:
        super().__init__(None, audit_reason=audit_reason)


class KMSInvalidMac(ClientError):
    def __init__(self, *, audit_reason: str | None = None) -> None:
        super().__init__(None, audit_reason=audit_reason)


class UnsupportedOperation(ClientError):
    pass


class DryRunOperation(ClientError):
    default_message = "The request would have succeeded, but the DryRun option is set."


class LimitExceeded(ClientError):
    pass


class TagError(ClientError):
    pass


class MalformedPolicyDocument(ClientError):
    pass


class InvalidGrantToken(ClientError):
    pass


class InvalidGrantId(ClientError):
    pass


class IncorrectKeyMaterial(ClientError):
    pass


class InvalidImportToken(ClientError):
    pass


class ExpiredImportToken(ClientError):
    pass


class Conflict(ClientError):
    pass


class CustomKeyStoreError(ClientError):
    """Base of the CustomKeyStore* family (spec §10.1)."""


class CustomKeyStoreNotFound(CustomKeyStoreError):
    pass


class CustomKeyStoreNameInUse(CustomKeyStoreError):
    pass


class CustomKeyStoreInvalidState(CustomKeyStoreError):
    pass


class CustomKeyStoreHasCMKs(CustomKeyStoreError):
    pass


class CloudHsmClusterNotFound(CustomKeyStoreError):
    pass


class CloudHsmClusterInvalidConfiguration(CustomKeyStoreError):
    pass


class IncorrectTrustAnchor(CustomKeyStoreError):
    pass


# --- the audit trail's CloudTrail API and bucket (issue 16) ----------------------------


class AuditTrailError(ClientError):
    pass


class InvalidLookupAttributes(AuditTrailError):
    pass


class InvalidTimeRange(AuditTrailError):
    pass


class InvalidMaxResults(AuditTrailError):
    pass


class InvalidNextToken(AuditTrailError):
    pass


class InvalidEventCategory(AuditTrailError):
    pass


class TrailNotFound(AuditTrailError):
    pass


class InvalidTrailName(AuditTrailError):
    pass


class CloudTrailArnInvalid(AuditTrailError):
    pass


class NoSuchObject(AuditTrailError):
    default_message = "The specified key does not exist."


class InvalidObjectRange(AuditTrailError):
    default_message = "The requested range is not satisfiable"


class FeatureNotImplemented(AuditTrailError):
    default_message = "A header or query you provided implies functionality that is not implemented."


# --- server side ------------------------------------------------------------------


class KMSInternal(ServerError):
    """Anything unexpected. The detail goes to the server log, never to the caller."""

    default_message = "An internal error occurred. Try again."


class KeyUnavailable(ServerError):
    pass


class DependencyTimeout(ServerError):
    pass


# --- S3 (issue 17) ---------------------------------------------------------------------
# S3's own error codes. The class name is the S3 ``<Code>`` (minus an ``Error`` suffix S3
# sometimes adds); the S3 wire map (phase 2, ``protocol/s3``) gives code and HTTP status.
# Errors S3 shares with KMS reuse the classes above: AccessDenied (S3: 403 AccessDenied),
# InvalidSignature (S3: 403 SignatureDoesNotMatch), and the KMS errors raised while S3
# calls KMS for the caller (NotFound, Disabled, KMSInvalidState... -> ``KMS.<Type>``,
# s3-sse spec §4).


class S3Error(ClientError):
    """Base of S3's error codes. ``details`` are the extra elements S3 puts in its XML
    error body (``BucketName``, ``Key``, ``UploadId``, ``ActualObjectSize``...)."""

    def __init__(
        self, message: str | None = None, *, details: dict[str, str] | None = None, audit_reason: str | None = None
    ) -> None:
        super().__init__(message, audit_reason=audit_reason)
        self.details: dict[str, str] = dict(details or {})


class NoSuchBucket(S3Error):
    default_message = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    default_message = "The specified key does not exist."


class NoSuchUpload(S3Error):
    default_message = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed."
    )


class NoSuchBucketPolicy(S3Error):
    default_message = "The bucket policy does not exist"


class ServerSideEncryptionConfigurationNotFound(S3Error):
    """S3 code ``ServerSideEncryptionConfigurationNotFoundError`` (404)."""

    default_message = "The server side encryption configuration was not found"


class BucketAlreadyExists(S3Error):
    default_message = (
        "The requested bucket name is not available. The bucket namespace is shared by all users of the "
        "system. Please select a different name and try again."
    )


class BucketAlreadyOwnedByYou(S3Error):
    default_message = "Your previous request to create the named bucket succeeded and you already own it."


class BucketNotEmpty(S3Error):
    default_message = "The bucket you tried to delete is not empty"


class InvalidBucketName(S3Error):
    default_message = "The specified bucket is not valid."


class InvalidLocationConstraint(S3Error):
    default_message = "The specified location-constraint is not valid"


class IllegalLocationConstraint(S3Error):
    """S3 code ``IllegalLocationConstraintException``."""


class TooManyBuckets(S3Error):
    default_message = "You have attempted to create more buckets than allowed"


class InvalidArgument(S3Error):
    pass


class InvalidRequest(S3Error):
    pass


class InvalidEncryptionAlgorithm(S3Error):
    """S3 code ``InvalidEncryptionAlgorithmError`` (s3-sse spec §6)."""

    default_message = "The Encryption request you specified is not valid. Supported value: AES256."


class InvalidRange(S3Error):
    """416."""

    default_message = "The requested range is not satisfiable"


class PreconditionFailed(S3Error):
    """412."""

    default_message = "At least one of the pre-conditions you specified did not hold"


class NotModified(S3Error):
    """304: a conditional GET/HEAD whose object has not changed (no body on the wire)."""

    default_message = "Not Modified"


class InvalidPart(S3Error):
    default_message = (
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the "
        "specified entity tag may not match the part's entity tag."
    )


class InvalidPartOrder(S3Error):
    default_message = "The list of parts was not in ascending order. Parts must be ordered by part number."


class EntityTooSmall(S3Error):
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


class EntityTooLarge(S3Error):
    default_message = "Your proposed upload exceeds the maximum allowed object size."


class KeyTooLong(S3Error):
    """S3 code ``KeyTooLongError``."""

    default_message = "Your key is too long"


class MetadataTooLarge(S3Error):
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class MalformedPolicy(S3Error):
    pass


class MalformedXML(S3Error):
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class InvalidDigest(S3Error):
    default_message = "The Content-MD5 you specified was invalid."


class BadDigest(S3Error):
    default_message = "The Content-MD5 you specified did not match what we received."


class XAmzContentSHA256Mismatch(S3Error):
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class IncompleteBody(S3Error):
    default_message = "You did not provide the number of bytes specified by the Content-Length HTTP header"


class InvalidChunkSize(S3Error):
    """S3 code ``InvalidChunkSizeError``: a non-final signed chunk under 8 KiB."""

    default_message = "Only the last chunk is allowed to have a size less than 8192 bytes"


class InvalidPartNumber(S3Error):
    """416: GetObject/HeadObject ``partNumber`` beyond the object's parts."""

    default_message = "The requested partnumber is not satisfiable"



class HeaderNotImplemented(S3Error):
    """S3 code ``NotImplemented`` (501): a header asks for functionality S3 (or Trent) does
    not implement, e.g. PutObject ``If-None-Match`` other than ``*``."""

    default_message = "A header you provided implies functionality that is not implemented"


class AuthorizationQueryParametersError(S3Error):
    """400: a presigned URL's query-string authentication parameters are missing or
    malformed (S3's texts, quoted where raised in ``protocol/sigv4/presigned.py``)."""

    default_message = (
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
        "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
    )


class HeadersNotSigned(S3Error):
    """S3 code ``AccessDenied`` (403): a presigned request sent ``x-amz-*`` headers its URL
    did not sign; S3 names them in a ``HeadersNotSigned`` element."""

    default_message = "There were headers present in the request which were not signed"


class PresignedUrlNotValidNow(S3Error):
    """S3 code ``AccessDenied`` (403) for a presigned URL used outside its validity window:
    "Request has expired" (with ``X-Amz-Expires``, ``Expires`` and ``ServerTime`` elements)
    or "Request is not yet valid"."""

    default_message = "Request has expired"
