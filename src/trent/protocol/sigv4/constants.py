"""The fixed values of SigV4 as KMS uses it (spec §1.5, §1.6)."""

from __future__ import annotations

import hashlib

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
DEFAULT_SERVICE = "kms"
#: ±5 minutes: what JSON/Coral services enforce in observed traffic (spec §1.5, §14).
MAX_SKEW_SECONDS = 300
#: SHA-256 of the empty string: the payload hash of a request without a body.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# Lone surrogates (possible only in str input, never in ASGI bytes) must not raise
# UnicodeEncodeError out of a verifier; they just produce a non-matching signature.
ENCODE_ERRORS = "surrogatepass"
