"""AWS managed keys and predefined aliases (issue 19 §2; spec §2.1, §5.4).

The interface for Trent's integrated services (the S3 server-side encryption service
uses ``aws/s3``)::

    key = aws_managed_keys.managed_key(deps, ctx, "s3")   # created on first use
    ctx = aws_managed_keys.via(ctx, "s3")                  # then call the KMS use cases
    encryption.generate_data_key(deps, ctx, key.arn, ...)  # as the caller, via the service

``managed_key`` returns the account's AWS managed key for the service in ``ctx``'s Region,
creating it (and pointing ``alias/aws/<service>`` at it) the first time, race-free across
requests and nodes: the alias row's uniqueness decides which of several concurrent
creators wins, and the losers delete the key they made. The key's policy
(``domain.aws_managed``) lets the account use it only through the service, so a direct
call by a user is denied as AWS denies it, and deleting it, changing its policy or its
rotation are refused the same way.

``create_on_describe`` is DescribeKey's part: describing a predefined alias that has no
key yet creates the key the same way (AWS services do so; tools such as Terraform's
``aws_kms_key`` data source describe such aliases).

``ensure_predefined_aliases`` adds the ``alias/aws/<service>`` rows AWS lists in every
account and Region even before the service made its key (then without TargetKeyId).
"""

from __future__ import annotations

import dataclasses

from trent.domain import aws_managed
from trent.domain.ids import parse_key_ref, uuid4_from
from trent.domain.keys import Alias, Key, KeyManager, KeyMaterial, KeySpec, KeyState, KeyUsage, MaterialState, Origin
from trent.domain.lifecycle import DAY, RotationSchedule
from trent.service.context import RequestContext
from trent.service.deps import ServiceDeps
from trent.service.key_generation import new_material
from trent.storage.repositories import Duplicate


def via(ctx: RequestContext, service: str) -> RequestContext:
    """The caller's context for a call the service makes on its behalf (``kms:ViaService``)."""
    return ctx.via(aws_managed.via_service(service, ctx.region))


def ensure_predefined_aliases(deps: ServiceDeps, account_id: str, region: str, partition: str, now: float) -> None:
    """Idempotent; cheap when done (one cached point read)."""
    names = [aws_managed.alias_name(s) for s in aws_managed.PREDEFINED_SERVICES]
    if deps.storage.get_alias(account_id, region, names[-1]) is not None:
        return
    for name in names:
        if deps.storage.get_alias(account_id, region, name) is None:
            try:
                deps.storage.create_alias(Alias(account_id, region, partition, name, None, now, now))
            except Duplicate:
                pass  # another request made it meanwhile


def create_on_describe(deps: ServiceDeps, ctx: RequestContext, raw_key_id: str) -> None:
    """DescribeKey on a predefined alias that has no key yet creates the AWS managed key and
    points the alias at it (model, DescribeKey: "Amazon Web Services services use DescribeKey
    to create Amazon Web Services managed keys from a predefined Amazon Web Services alias
    with no key ID"; spec §2.1). Only the caller's own account and Region; DescribeKey is
    then authorized against the new key as usual. (DescribeKey runs on the event loop,
    operations.py ``inline``: this blocking write happens once per service, account and
    Region.)"""
    ref = parse_key_ref(raw_key_id)
    if not ref.is_alias or ref.alias_name is None:
        return
    service = aws_managed.predefined_service(ref.alias_name)
    if service is None or ref.account_id not in (None, ctx.account_id) or ref.region not in (None, ctx.region):
        return
    alias = deps.storage.get_alias(ctx.account_id, ctx.region, ref.alias_name)
    if alias is None or alias.target_key_id is None:
        managed_key(deps, ctx, service)


def managed_key(deps: ServiceDeps, ctx: RequestContext, service: str) -> Key:
    """The AWS managed key of ``service`` for ``ctx``'s account and Region (created on first use)."""
    name = aws_managed.alias_name(service)
    alias = deps.storage.get_alias(ctx.account_id, ctx.region, name)
    if alias is not None and alias.target_key_id is not None:
        existing = deps.storage.get_key(ctx.region, alias.target_key_id)
        if existing is not None:
            return existing
    key = _create(deps, ctx, service)
    claimed = Alias(ctx.account_id, ctx.region, ctx.partition, name, key.key_id, ctx.now, ctx.now)
    if alias is None:
        try:
            deps.storage.create_alias(claimed)
            return key
        except Duplicate:
            alias = deps.storage.get_alias(ctx.account_id, ctx.region, name)
    if alias is not None and alias.target_key_id is None:
        # The predefined alias row exists: claim it only if it is still untargeted.
        if deps.storage.claim_alias(dataclasses.replace(claimed, created_at=alias.created_at)):
            return key
    deps.storage.delete_key(key.region, key.key_id)  # lost the race: use the winner's key
    winner = deps.storage.get_alias(ctx.account_id, ctx.region, name)
    assert winner is not None and winner.target_key_id is not None
    found = deps.storage.get_key(ctx.region, winner.target_key_id)
    assert found is not None
    return found


def _create(deps: ServiceDeps, ctx: RequestContext, service: str) -> Key:
    key_id = uuid4_from(deps.rng(16))
    material_id, wrapped = new_material(deps, key_id, KeySpec.SYMMETRIC_DEFAULT)
    key = Key(
        key_id=key_id,
        account_id=ctx.account_id,
        region=ctx.region,
        partition=ctx.partition,
        key_spec=KeySpec.SYMMETRIC_DEFAULT,
        key_usage=KeyUsage.ENCRYPT_DECRYPT,
        origin=Origin.AWS_KMS,
        state=KeyState.ENABLED,
        created_at=ctx.now,
        description=aws_managed.description(service),
        key_manager=KeyManager.AWS,
        current_material_id=material_id,
        policy=aws_managed.managed_key_policy(ctx.account_id, ctx.partition, ctx.region, service),
    )
    deps.storage.create_key(key, KeyMaterial(key_id, material_id, wrapped, MaterialState.CURRENT, ctx.now))
    # spec §5.4: AWS managed keys rotate every year, always.
    period = aws_managed.ROTATION_PERIOD_DAYS
    deps.storage.put_rotation_schedule(
        RotationSchedule(ctx.region, key_id, True, period, ctx.now + period * DAY)
    )
    return key
