"""GenerateDataKeyPair and ...WithoutPlaintext (spec §3.6).

A fresh key pair of ``KeyPairSpec``: the public key as DER SubjectPublicKeyInfo, the
private key as DER PKCS#8 PrivateKeyInfo, and that PKCS#8 blob sealed under the
symmetric KMS key as an ordinary symmetric ciphertext (so Decrypt with the same
encryption context returns it). Pair specs this build cannot make (SM2 outside the
China Regions, the ML-KEM specs newer models list) are UnsupportedOperation, which
the model declares for these operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trent.crypto import private_keys
from trent.domain.key_specs import CHINA_REGION_PREFIX, KEY_PAIR_SPECS
from trent.errors import UnsupportedOperation
from trent.service.authorization import authorized_key
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.encryption import (
    SYMMETRIC_DEFAULT,
    Context,
    Sealed,
    check_dry_run,
    require_usable_for_encryption,
    seal_symmetric,
)


@dataclass(frozen=True, slots=True)
class DataKeyPair:
    sealed: Sealed
    public_key: bytes
    private_key: bytes = field(repr=False)
    spec: str


def _check_spec(ctx: RequestContext, spec: str) -> None:
    if spec == "SM2" and not ctx.region.startswith(CHINA_REGION_PREFIX):
        raise UnsupportedOperation(
            f"KeyPairSpec {spec} is not supported in this region. SM2 is available only in China Regions."
        )
    if spec not in KEY_PAIR_SPECS or spec not in private_keys.supported_specs():
        raise UnsupportedOperation(f"KeyPairSpec {spec} is not supported by this Trent server.")


def generate_data_key_pair(
    deps: ServiceDeps, ctx: RequestContext, key_id: str, spec: str, context: Context, operation: str,
    dry_run: bool = False,
) -> DataKeyPair:
    # spec §7.4: kms:EncryptionAlgorithm applies here too; the private key is always sealed
    # with SYMMETRIC_DEFAULT (the operation needs a symmetric key), as GenerateDataKey's is.
    key = authorized_key(
        deps, ctx, key_id, operation, encryption_context=context, data_key_pair_spec=spec,
        encryption_algorithm=SYMMETRIC_DEFAULT,
    )
    require_usable_for_encryption(key, operation, None)  # the wrapping key is symmetric (spec §3.6)
    if key.custom_key_store_id is not None:
        raise UnsupportedOperation(f"{key.arn} is in a custom key store, which is not valid for {operation}.")
    _check_spec(ctx, spec)
    check_dry_run(dry_run)
    private, public = private_keys.generate_pair(spec)
    return DataKeyPair(seal_symmetric(deps, key, private, context), public, private, spec)
