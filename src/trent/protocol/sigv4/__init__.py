"""AWS Signature Version 4 verification as pure, separately testable steps.

The steps follow spec §1.6 (and habits §2): each is a plain function so a known-answer
test can name the step that broke:

    parse_authorization()  -> AuthorizationHeader          §1.6 step 1        authorization.py
    parse_request_auth()   -> ParsedAuth                   §1.6 steps 1-2 (+ token)
    check_scope_and_time()                                  §1.6 steps 2 and 7  scope.py
    canonical_request()    -> str                          §1.6 step 4        canonical.py
    string_to_sign()       -> str                          §1.6 step 5
    signing_key()          -> bytes                        §1.6 step 6        signing_keys.py
    signature()            -> str                          §1.6 step 6
    verify_signature()                                      all of the above,  verifier.py
                                                            constant-time compare

with the header index (headers.py), the request-time formats (dates.py), the fixed
values (constants.py) and the capped echo of client text in AWS's messages (echo.py)
underneath. S3's payload modes (issue 17) live beside them: ``payload.py`` (what
``x-amz-content-sha256`` says), ``chunked.py`` (aws-chunked bodies, chunk and trailer
signatures), ``checksums.py`` (``x-amz-checksum-*``). The server drives them in this order::

    parsed = parse_request_auth(headers)           # MissingAuthenticationToken / IncompleteSignature
    secret = <resolve parsed.authorization.access_key_id through storage>
                                                   # caller raises UnrecognizedClient / checks token
    check_scope_and_time(parsed, now, region_ok)   # InvalidSignature (exact AWS texts, §1.5)
    verify_signature(parsed, secret, method, path, query, parsed.headers, body)

(``parsed.headers`` is the :class:`HeaderIndex` built while parsing; passing the raw
ASGI list instead is equally correct, it is just indexed a second time.)

Performance (the server must sustain ≥10k req/s on one core): headers are indexed once
without decoding, the botocore-shaped Authorization header takes a str-op fast path,
SignedHeaders plans and X-Amz-Date parses are memoized, and the derived signing key is
cached with its HMAC pads pre-absorbed (:class:`SigningKeyCache`).

:class:`SigV4Verifier` bundles the same sequence for callers that can hand it a
``lookup_secret`` callable. Nothing here reads a clock: ``now`` is a parameter (habits §3).

Choices the spec leaves open are documented in the module that makes them and pinned by
tests: the signed ``host``, the algorithm and the ``Date`` fallback (authorization.py),
the payload hash (verifier.py), the ±5 minute inclusive clock skew (scope.py).
"""

from __future__ import annotations

from trent.protocol.sigv4.authorization import (
    AuthorizationHeader,
    ParsedAuth,
    parse_authorization,
    parse_request_auth,
)
from trent.protocol.sigv4.checksums import Checksum, algorithm_of_header, checksum_of
from trent.protocol.sigv4.chunked import AwsChunkedDecoder, ChunkSigner
from trent.protocol.sigv4.canonical import (
    canonical_headers,
    canonical_path,
    canonical_query,
    canonical_request,
    string_to_sign,
)
from trent.protocol.sigv4.constants import (
    ALGORITHM,
    DEFAULT_SERVICE,
    EMPTY_SHA256,
    MAX_SKEW_SECONDS,
    TERMINATOR,
)
from trent.protocol.sigv4.dates import format_amz_date, parse_amz_date
from trent.protocol.sigv4.headers import (
    HeaderIndex,
    HeaderInput,
    HeaderList,
    LowercaseHeaders,
    index_headers,
)
from trent.protocol.sigv4.payload import BodyHasher, PayloadMode, payload_mode
from trent.protocol.sigv4.presigned import PresignedAuth, is_presigned, parse_presigned
from trent.protocol.sigv4.presigned_v2 import PresignedV2, is_presigned_v2, parse_presigned_v2, verify_presigned_v2
from trent.protocol.sigv4.scope import RegionCheck, check_scope_and_time
from trent.protocol.sigv4.signing_keys import SigningKeyCache, signature, signing_key
from trent.protocol.sigv4.verifier import UNSIGNED_PAYLOAD, SigV4Verifier, s3_payload_hash, verify_signature

__all__ = [
    "ALGORITHM",
    "DEFAULT_SERVICE",
    "EMPTY_SHA256",
    "MAX_SKEW_SECONDS",
    "TERMINATOR",
    "AuthorizationHeader",
    "AwsChunkedDecoder",
    "BodyHasher",
    "Checksum",
    "ChunkSigner",
    "HeaderIndex",
    "HeaderInput",
    "HeaderList",
    "LowercaseHeaders",
    "ParsedAuth",
    "PayloadMode",
    "RegionCheck",
    "SigV4Verifier",
    "SigningKeyCache",
    "algorithm_of_header",
    "canonical_headers",
    "canonical_path",
    "canonical_query",
    "canonical_request",
    "check_scope_and_time",
    "checksum_of",
    "format_amz_date",
    "index_headers",
    "parse_amz_date",
    "parse_authorization",
    "parse_request_auth",
    "payload_mode",
    "PresignedAuth",
    "is_presigned",
    "parse_presigned",
    "PresignedV2",
    "is_presigned_v2",
    "parse_presigned_v2",
    "verify_presigned_v2",
    "signature",
    "signing_key",
    "string_to_sign",
    "verify_signature",
    "s3_payload_hash",
    "UNSIGNED_PAYLOAD",
]
