"""THE wire map: exception type -> ``__type``, HTTP status, message field (spec §1.3-1.5).

The only place in Trent that knows ``__type`` strings. Looked up by walking the
exception's MRO, so a subclass inherits its parent's wire form unless listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from trent import errors as e


@dataclass(frozen=True, slots=True)
class WireError:
    type_name: str
    status: int = 400
    # spec §1.3: AccessDeniedException (and UnsupportedOperation per LK) capitalise it;
    # we follow the verified AccessDenied case only.
    message_field: str = "message"


WIRE_ERRORS: dict[type[e.TrentError], WireError] = {
    e.MissingAuthenticationToken: WireError("MissingAuthenticationTokenException"),
    e.IncompleteSignature: WireError("IncompleteSignatureException"),
    e.InvalidSignature: WireError("InvalidSignatureException"),
    e.UnrecognizedClient: WireError("UnrecognizedClientException"),
    e.ExpiredToken: WireError("ExpiredTokenException"),
    e.UnknownOperation: WireError("UnknownOperationException"),
    e.SerializationError: WireError("SerializationException"),
    e.ValidationError: WireError("ValidationException"),
    e.AccessDenied: WireError("AccessDeniedException", message_field="Message"),
    e.NotAuthorized: WireError("NotAuthorizedException"),
    e.Throttling: WireError("ThrottlingException"),
    e.NotFound: WireError("NotFoundException"),
    e.AlreadyExists: WireError("AlreadyExistsException"),
    e.Disabled: WireError("DisabledException"),
    e.KMSInvalidState: WireError("KMSInvalidStateException"),
    e.InvalidArn: WireError("InvalidArnException"),
    e.InvalidMarker: WireError("InvalidMarkerException"),
    e.InvalidCiphertext: WireError("InvalidCiphertextException"),
    e.IncorrectKey: WireError("IncorrectKeyException"),
    e.InvalidKeyUsage: WireError("InvalidKeyUsageException"),
    e.KMSInvalidSignature: WireError("KMSInvalidSignatureException"),
    e.KMSInvalidMac: WireError("KMSInvalidMacException"),
    e.UnsupportedOperation: WireError("UnsupportedOperationException"),
    e.DryRunOperation: WireError("DryRunOperationException"),
    e.LimitExceeded: WireError("LimitExceededException"),
    e.TagError: WireError("TagException"),
    e.MalformedPolicyDocument: WireError("MalformedPolicyDocumentException"),
    e.InvalidGrantToken: WireError("InvalidGrantTokenException"),
    e.InvalidGrantId: WireError("InvalidGrantIdException"),
    e.IncorrectKeyMaterial: WireError("IncorrectKeyMaterialException"),
    e.InvalidImportToken: WireError("InvalidImportTokenException"),
    e.ExpiredImportToken: WireError("ExpiredImportTokenException"),
    e.Conflict: WireError("ConflictException"),
    e.CustomKeyStoreNotFound: WireError("CustomKeyStoreNotFoundException"),
    e.CustomKeyStoreNameInUse: WireError("CustomKeyStoreNameInUseException"),
    e.CustomKeyStoreInvalidState: WireError("CustomKeyStoreInvalidStateException"),
    e.CustomKeyStoreHasCMKs: WireError("CustomKeyStoreHasCMKsException"),
    e.CloudHsmClusterNotFound: WireError("CloudHsmClusterNotFoundException"),
    e.CloudHsmClusterInvalidConfiguration: WireError("CloudHsmClusterInvalidConfigurationException"),
    e.IncorrectTrustAnchor: WireError("IncorrectTrustAnchorException"),
    # spec §1.4: internal faults are 500 (retried by clients), dependency timeouts 503.
    e.KMSInternal: WireError("KMSInternalException", status=500),
    e.KeyUnavailable: WireError("KeyUnavailableException", status=500),
    e.DependencyTimeout: WireError("DependencyTimeoutException", status=503),
}


def wire_error(exc: e.TrentError) -> WireError:
    for cls in type(exc).__mro__:
        found = WIRE_ERRORS.get(cls)
        if found is not None:
            return found
    return WIRE_ERRORS[e.KMSInternal]


def error_body(exc: e.TrentError) -> tuple[int, dict[str, str]]:
    wire = wire_error(exc)
    body = {"__type": wire.type_name}
    if exc.message is not None:
        body[wire.message_field] = exc.message
    return wire.status, body
