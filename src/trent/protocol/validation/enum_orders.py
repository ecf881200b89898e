"""The order in which AWS prints an enum's value set in a ValidationException (spec §1.7).

AWS's front end prints ``Member must satisfy enum value set: [...]`` in an internal
order that is not the service model's. Where that order has been recorded from AWS, it
is kept here, keyed by the exact value set it was recorded for; every other enum (and
any enum whose values have since changed, so the recording no longer covers it) falls
back to the model's order.
"""

from __future__ import annotations

from collections.abc import Sequence

# Recorded from real AWS responses (spec §1.7, issue 19). Key: the value set; value: the order.
_RECORDED: tuple[tuple[str, ...], ...] = (
    # macAlgorithm (GenerateMac/VerifyMac), [V]
    ("HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"),
    # keyAgreementAlgorithm (DeriveSharedSecret), [V]
    ("ECDH",),
    # keySpec as it stood when recorded (12 values); today's model has more values, so
    # this entry applies only to a shape with exactly these values.
    (
        "RSA_2048", "ECC_NIST_P384", "ECC_NIST_P256", "ECC_NIST_P521", "HMAC_384", "RSA_3072",
        "ECC_SECG_P256K1", "RSA_4096", "SYMMETRIC_DEFAULT", "HMAC_256", "HMAC_224", "HMAC_512",
    ),
)

#: Shapes whose ValidationException lists *another* shape's value set (spec §1.7 "Quirk",
#: [V: GH boto3#3428]): GenerateDataKey(WithoutPlaintext)'s KeySpec accepts only AES_256 and
#: AES_128, yet a bad value is reported against CreateKey's KeySpec set. Only the printed set
#: differs; the value is still checked against the shape's own values.
PRINTED_SET_OF: dict[str, str] = {"DataKeySpec": "KeySpec"}

AWS_ENUM_ORDERS: dict[frozenset[str], tuple[str, ...]] = {frozenset(order): order for order in _RECORDED}


def aws_order(values: Sequence[str]) -> tuple[str, ...]:
    """The enum values in AWS's recorded order when known, else in the model's order."""
    return AWS_ENUM_ORDERS.get(frozenset(values), tuple(values))
