"""Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom
(spec §3.2, §3.6, §6).

Symmetric ciphertexts are framed by :mod:`trent.domain.ciphertext`; the header and
the canonical encryption context together are the AAD, so any change to either
fails the tag check and surfaces as an opaque InvalidCiphertextException.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from trent.domain import ciphertext, encryption_context
from trent.domain.frozen import fast_init
from trent.domain.ids import parse_key_ref
from trent.domain.key_specs import DATA_KEY_SPEC_BYTES, KEY_SPECS, KeyFamily
from trent.domain.key_states import check_state
from trent.domain.keys import Key, KeySpec, KeyUsage
from trent.errors import (
    AccessDenied,
    DryRunOperation,
    IncorrectKey,
    InvalidCiphertext,
    InvalidKeyUsage,
    KMSInternal,
    ValidationError,
)
from trent.keystores.base import KeyStoreError
from trent.service import authorization, rsa_encryption
from trent.service.authorization import authorize, authorize_account, request_alias
from trent.service.availability import effective, needs_overlay
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.resolve import resolve_key

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
_UNUSABLE_CIPHERTEXT_KEY = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
    "or you are not allowed to access."
)

Context = Mapping[str, str] | None


class Sealed(NamedTuple):
    """A ciphertext and what made it. A NamedTuple (immutable, typed): one per Encrypt on
    the hot path, where a frozen dataclass's ``__init__`` costs three times as much."""

    key: Key
    blob: bytes
    material_id: str | None  # None for RSA: raw OAEP output names no material (spec §6.3)
    algorithm: str = SYMMETRIC_DEFAULT

    def __repr__(self) -> str:  # the blob stays out of logs, as before
        return f"Sealed(key={self.key.arn!r}, material_id={self.material_id!r}, algorithm={self.algorithm!r})"


@fast_init
@dataclass(frozen=True, slots=True)
class Opened:
    key: Key
    plaintext: bytes = field(repr=False)
    material_id: str | None
    algorithm: str


@fast_init
@dataclass(frozen=True, slots=True)
class DataKey:
    sealed: Sealed
    plaintext: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ReEncrypted:
    source: Opened
    destination: Sealed
    destination_algorithm: str


def require_usable_for_encryption(key: Key, operation: str, algorithm: str | None) -> str:
    """State, usage and algorithm checks shared by every symmetric encrypt path."""
    check_state(operation, key)
    if key.key_usage is not KeyUsage.ENCRYPT_DECRYPT:
        raise InvalidKeyUsage(f"{key.arn} key usage is {key.key_usage} which is not valid for {operation}.")
    algorithm = algorithm or SYMMETRIC_DEFAULT
    if algorithm not in KEY_SPECS[key.key_spec].encryption_algorithms:
        raise InvalidKeyUsage(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")
    return algorithm


def _seal_with(
    deps: ServiceDeps, key: Key, plaintext: bytes, context: Context, algorithm: str, dry_run: bool = False
) -> Sealed:
    """Symmetric blob, or raw RSAES-OAEP output for RSA keys (spec §3.2)."""
    if key.key_spec is KeySpec.SYMMETRIC_DEFAULT:
        check_dry_run(dry_run)
        return seal_symmetric(deps, key, plaintext, context)
    blob = rsa_encryption.encrypt(deps, key, plaintext, context, algorithm, dry_run)
    return Sealed(key, blob, None, algorithm)


def _facts(key: Key, raw_key_id: str | None, context: Context, algorithm: str | None) -> dict[str, Any]:
    """Condition facts of an encryption request (spec §7.4)."""
    facts: dict[str, Any] = {
        "encryption_context": context,
        # an omitted algorithm is the key's default (SYMMETRIC_DEFAULT for symmetric keys)
        "encryption_algorithm": algorithm or (SYMMETRIC_DEFAULT if key.key_spec is KeySpec.SYMMETRIC_DEFAULT else None),
    }
    alias = request_alias(raw_key_id) if raw_key_id is not None else None
    if alias is not None:
        facts["request_alias"] = alias
    return facts


def _authorize(
    deps: ServiceDeps, ctx: RequestContext, action: str, key: Key, raw_key_id: str | None, context: Context,
    algorithm: str | None, **more: Any,
) -> None:
    authorize(deps, ctx, action, key, **_facts(key, raw_key_id, context, algorithm), **more)


def _allowed(
    deps: ServiceDeps, ctx: RequestContext, action: str, key: Key, raw_key_id: str | None, context: Context,
    algorithm: str | None, **more: Any,
) -> bool:
    return authorization.allowed(deps, ctx, action, key, **_facts(key, raw_key_id, context, algorithm), **more)


def _same_key_fact(
    deps: ServiceDeps, ctx: RequestContext, blob: bytes | None, source_key_id: str | None, destination: Key
) -> bool | None:
    """kms:ReEncryptOnSameKey for the ReEncryptFrom decision: does the blob's key (or the
    named source key) equal the destination?"""
    if blob is not None:
        try:
            return ciphertext.split(blob)[0].key_id == destination.key_id
        except ValueError:
            pass
    if source_key_id is not None:
        ref_key = parse_key_ref(source_key_id).key_id
        return ref_key == destination.key_id if ref_key is not None else None
    return None


def _aad(header: bytes, context: Context) -> bytes:
    try:
        return header + encryption_context.encode(context)
    except encryption_context.ContextTooLarge:
        raise ValidationError("The encryption context is too large.") from None


def seal_symmetric(deps: ServiceDeps, key: Key, plaintext: bytes, context: Context) -> Sealed:
    material_id = key.current_material_id
    material = deps.storage.get_material(key.key_id, material_id, key.region) if material_id else None
    if material is None:
        raise KMSInternal(audit_reason="current key material is missing")
    header = ciphertext.encode_header(key.key_id, material.material_id)
    try:
        payload = deps.keystore.seal(material, plaintext, _aad(header.raw, context))
    except KeyStoreError as exc:
        raise KMSInternal(audit_reason=f"key store: {exc}") from None
    return Sealed(key, header.raw + payload, material.material_id)


def check_dry_run(dry_run: bool) -> None:
    if dry_run:
        raise DryRunOperation()


def encrypt(
    deps: ServiceDeps,
    ctx: RequestContext,
    key_id: str,
    plaintext: bytes,
    context: Context,
    algorithm: str | None,
    dry_run: bool = False,
) -> Sealed:
    key = resolve_key(deps, ctx, key_id, "Encrypt")
    _authorize(deps, ctx, "Encrypt", key, key_id, context, algorithm)
    algorithm = require_usable_for_encryption(key, "Encrypt", algorithm)
    return _seal_with(deps, key, plaintext, context, algorithm, dry_run)


def _require_blob(blob: bytes | None, dry_run: bool, ignore_ciphertext: bool) -> bytes:
    """The model made CiphertextBlob optional (for DryRunModifiers=[IGNORE_CIPHERTEXT],
    spec §6.3); without that modifier it is still required."""
    if blob is None:
        if dry_run and ignore_ciphertext:
            raise DryRunOperation()
        raise ValidationError(
            "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: "
            "Member must not be null"
        )
    return blob


def _open(
    deps: ServiceDeps,
    ctx: RequestContext,
    blob: bytes | None,
    key_id: str | None,
    context: Context,
    algorithm: str | None,
    operation: str,
    dry_run: bool = False,
    ignore_ciphertext: bool = False,
    **source_facts: Any,
) -> Opened:
    """Decrypt a symmetric blob; the key comes from the blob (spec §6.3). ``source_facts``:
    extra condition facts for the ReEncryptFrom decision (kms:ReEncryptOnSameKey)."""
    expected = resolve_key(deps, ctx, key_id, operation) if key_id is not None else None
    blob = _require_blob(blob, dry_run, ignore_ciphertext)
    if expected is not None and KEY_SPECS[expected.key_spec].family is KeyFamily.RSA:
        # spec §6.1: RSA ciphertext is raw OAEP output; the KeyId names the key.
        action = "Decrypt" if operation == "Decrypt" else "ReEncryptFrom"
        _authorize(deps, ctx, action, expected, key_id, context, algorithm, **source_facts)
        algorithm = require_usable_for_encryption(expected, operation, algorithm)
        plaintext = rsa_encryption.decrypt(deps, expected, blob, context, algorithm, dry_run)
        return Opened(expected, plaintext, None, algorithm)
    try:
        header, payload = ciphertext.split(blob)
    except ValueError:
        if expected is not None and expected.key_spec is not KeySpec.SYMMETRIC_DEFAULT:
            raise IncorrectKey() from None
        raise InvalidCiphertext(audit_reason="blob does not parse") from None
    key = deps.storage.get_key(ctx.region, header.key_id)
    if key is not None and needs_overlay(key):
        key = effective(deps, key)  # Unavailable / transient states (spec §4.1)
    if key is None:
        raise AccessDenied(_UNUSABLE_CIPHERTEXT_KEY)
    action = "Decrypt" if operation == "Decrypt" else "ReEncryptFrom"
    # spec §6.3/§7.5: a blob whose key the caller may not use gets the generic text, which
    # does not confirm that the key exists.
    if not _allowed(deps, ctx, action, key, key_id, context, algorithm, **source_facts):
        raise AccessDenied(_UNUSABLE_CIPHERTEXT_KEY)
    if expected is not None and expected.key_id != key.key_id:
        raise IncorrectKey()
    check_state(operation, key)
    if key.key_usage is not KeyUsage.ENCRYPT_DECRYPT:
        raise IncorrectKey()
    algorithm = algorithm or SYMMETRIC_DEFAULT
    if algorithm != SYMMETRIC_DEFAULT:
        raise InvalidCiphertext(audit_reason="algorithm does not match the ciphertext")
    material = deps.storage.get_material(key.key_id, header.material_id, key.region)
    if material is None:
        raise InvalidCiphertext(audit_reason="key material named by the blob does not exist")
    check_dry_run(dry_run)
    try:
        plaintext = deps.keystore.open(material, payload, _aad(header.raw, context))
    except KeyStoreError as exc:
        raise KMSInternal(audit_reason=f"key store: {exc}") from None
    return Opened(key, plaintext, material.material_id, algorithm)


def decrypt(
    deps: ServiceDeps,
    ctx: RequestContext,
    blob: bytes | None,
    key_id: str | None,
    context: Context,
    algorithm: str | None,
    dry_run: bool = False,
    ignore_ciphertext: bool = False,
) -> Opened:
    return _open(deps, ctx, blob, key_id, context, algorithm, "Decrypt", dry_run, ignore_ciphertext)


def re_encrypt(
    deps: ServiceDeps,
    ctx: RequestContext,
    blob: bytes | None,
    source_key_id: str | None,
    source_context: Context,
    source_algorithm: str | None,
    destination_key_id: str,
    destination_context: Context,
    destination_algorithm: str | None,
    dry_run: bool = False,
    ignore_ciphertext: bool = False,
) -> ReEncrypted:
    destination = resolve_key(deps, ctx, destination_key_id, "ReEncrypt")
    if blob is None and dry_run and ignore_ciphertext:
        # spec §6.3 DryRunModifiers: skip the ciphertext, still check the destination.
        _authorize(deps, ctx, "ReEncryptTo", destination, destination_key_id, destination_context,
                   destination_algorithm)
        require_usable_for_encryption(destination, "ReEncrypt", destination_algorithm)
        raise DryRunOperation()
    same = _same_key_fact(deps, ctx, blob, source_key_id, destination)
    source = _open(deps, ctx, blob, source_key_id, source_context, source_algorithm, "ReEncrypt",
                   reencrypt_on_same_key=same)
    # spec §6.4: kms:ReEncryptTo on the destination, with its context and algorithm.
    _authorize(deps, ctx, "ReEncryptTo", destination, destination_key_id, destination_context,
               destination_algorithm, reencrypt_on_same_key=source.key.key_id == destination.key_id)
    algorithm = require_usable_for_encryption(destination, "ReEncrypt", destination_algorithm)
    check_dry_run(dry_run)
    sealed = _seal_with(deps, destination, source.plaintext, destination_context, algorithm)
    return ReEncrypted(source, sealed, algorithm)


def _data_key_length(key_spec: str | None, number_of_bytes: int | None) -> int:
    if (key_spec is None) == (number_of_bytes is None):
        raise ValidationError("Please specify either number of bytes or key spec.")
    return DATA_KEY_SPEC_BYTES[key_spec] if key_spec is not None else int(number_of_bytes)  # type: ignore[arg-type]


def generate_data_key(
    deps: ServiceDeps,
    ctx: RequestContext,
    key_id: str,
    key_spec: str | None,
    number_of_bytes: int | None,
    context: Context,
    operation: str = "GenerateDataKey",
    dry_run: bool = False,
) -> DataKey:
    key = resolve_key(deps, ctx, key_id, operation)
    _authorize(deps, ctx, operation, key, key_id, context, None)
    require_usable_for_encryption(key, operation, None)
    length = _data_key_length(key_spec, number_of_bytes)
    check_dry_run(dry_run)
    plaintext = deps.keystore.random_bytes(length)
    return DataKey(seal_symmetric(deps, key, plaintext, context), plaintext)


def generate_random(deps: ServiceDeps, ctx: RequestContext, number_of_bytes: int | None) -> bytes:
    authorize_account(deps, ctx, "GenerateRandom")  # IAM-only (spec §7.3)
    if number_of_bytes is None:
        raise ValidationError("NumberOfBytes is required.")
    return deps.rng(number_of_bytes)
