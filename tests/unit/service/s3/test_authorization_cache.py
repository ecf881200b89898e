"""S3 authorization decisions are cached like KMS's (issue 17): under the caller, action,
resource and its owner, the policy texts and, for policies with conditions, the request
inputs they read. A repeat skips evaluation; anything the verdict depends on misses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from trent import errors
from trent.authz import AuthzRequest, Decision
from trent.domain.principals import IdentityPolicy
from trent.domain.s3.records import SseMode
from trent.service.s3 import authorization, bucket_config, buckets, objects
from trent.service.s3.objects import PutObjectRequest
from trent.service.s3.sse_headers import SseRequest

from .conftest import BOB, ROOT_B, World, doc
from .test_buckets_and_policies import REQUIRE_KMS
from .test_objects import get, put

GET_FOR_BOB = doc({"Effect": "Allow", "Principal": {"AWS": BOB}, "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::bkt/*"})


@pytest.fixture()
def w(world: World) -> World:
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    put(world, "k", b"x")
    return world


@pytest.fixture()
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Decision]]:
    """(action, decision) of every S3 evaluation the engine actually ran."""
    ran: list[tuple[str, Decision]] = []
    real: Callable[..., Decision] = authorization.evaluate

    def spy(request: AuthzRequest, *args: Any) -> Decision:
        decision = real(request, *args)
        ran.append((request.action, decision))
        return decision

    monkeypatch.setattr(authorization, "evaluate", spy)
    return ran


def gets(evaluations: list[tuple[str, Decision]]) -> int:
    return sum(action == authorization.GET_OBJECT for action, _ in evaluations)


def denial(call: Callable[[], object]) -> str:
    with pytest.raises(errors.AccessDenied) as denied:
        call()
    return str(denied.value)


def test_a_repeated_allow_is_evaluated_once(w: World, evaluations: list[tuple[str, Decision]]) -> None:
    assert get(w, "k") == b"x"
    assert get(w, "k") == b"x"
    assert gets(evaluations) == 1
    with pytest.raises(errors.AccessDenied):
        get(w, "k", arn=BOB)  # another caller: its own entry
    assert gets(evaluations) == 2


def test_a_changed_bucket_policy_misses(w: World, evaluations: list[tuple[str, Decision]]) -> None:
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", GET_FOR_BOB)
    assert get(w, "k", arn=BOB) == b"x"
    assert get(w, "k", arn=BOB) == b"x"
    assert gets(evaluations) == 1
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", doc(
        {"Effect": "Deny", "Principal": {"AWS": BOB}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}))
    with pytest.raises(errors.AccessDenied, match="explicit deny in a resource-based policy"):
        get(w, "k", arn=BOB)
    assert gets(evaluations) == 2
    bucket_config.delete_bucket_policy(w.s3, w.ctx(), "bkt")
    with pytest.raises(errors.AccessDenied, match="no identity-based policy allows"):
        get(w, "k", arn=BOB)
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", GET_FOR_BOB)  # the first text again: its entry
    assert get(w, "k", arn=BOB) == b"x"
    assert gets(evaluations) == 3


def test_a_changed_identity_policy_misses(w: World, evaluations: list[tuple[str, Decision]]) -> None:
    allow = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    w.kms.storage.put_identity_policy(IdentityPolicy(BOB, "p", allow))
    assert get(w, "k", arn=BOB) == b"x"
    assert get(w, "k", arn=BOB) == b"x"
    assert gets(evaluations) == 1
    w.kms.storage.put_identity_policy(IdentityPolicy(BOB, "p", doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"})))
    with pytest.raises(errors.AccessDenied, match="no identity-based policy allows"):
        get(w, "k", arn=BOB)
    w.kms.storage.put_identity_policy(IdentityPolicy(BOB, "q", doc(
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"})))
    with pytest.raises(errors.AccessDenied, match="explicit deny in an identity-based policy"):
        get(w, "k", arn=BOB)
    assert gets(evaluations) == 3


def test_secure_transport_condition_per_request(w: World, evaluations: list[tuple[str, Decision]]) -> None:
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", doc(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    bucket = w.s3.repo.get_bucket("bkt")
    assert bucket is not None
    tls = w.ctx(secure=True)
    plain = w.ctx(secure=False)
    for _ in range(2):
        assert authorization.allowed(w.s3, tls, authorization.GET_OBJECT, bucket, "k")
        assert not authorization.allowed(w.s3, plain, authorization.GET_OBJECT, bucket, "k")
    assert gets(evaluations) == 2  # one per transport, the repeats from the cache


def test_source_ip_condition_per_request(w: World, evaluations: list[tuple[str, Decision]]) -> None:
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", doc(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}))
    bucket = w.s3.repo.get_bucket("bkt")
    assert bucket is not None
    inside = w.ctx()  # 10.0.0.7
    outside = replace(inside, source_ip="192.0.2.1")
    for _ in range(2):
        assert authorization.allowed(w.s3, inside, authorization.GET_OBJECT, bucket, "k")
        assert not authorization.allowed(w.s3, outside, authorization.GET_OBJECT, bucket, "k")
    assert gets(evaluations) == 2


def test_sse_header_condition_per_request(w: World, evaluations: list[tuple[str, Decision]]) -> None:
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", REQUIRE_KMS)
    key_arn = w.create_key()
    for _ in range(2):
        for sse in (SseRequest(), SseRequest(SseMode.SSE_S3)):
            with pytest.raises(errors.AccessDenied, match="explicit deny"):
                put(w, "k", b"y", sse)
        put(w, "k", b"y", SseRequest(SseMode.SSE_KMS, key_arn))
    puts = [d for action, d in evaluations if action == authorization.PUT_OBJECT]
    assert len(puts) == 3  # no header, AES256, aws:kms: once each


def test_time_condition_is_not_served_across_seconds(w: World, evaluations: list[tuple[str, Decision]]) -> None:
    clock: Any = w.kms.clock
    cutoff = clock.now() + 10
    w.kms.storage.put_identity_policy(IdentityPolicy(BOB, "p", doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
         "Condition": {"NumericLessThan": {"aws:EpochTime": str(int(cutoff))}}})))
    assert get(w, "k", arn=BOB) == b"x"
    clock.advance(20)
    with pytest.raises(errors.AccessDenied):
        get(w, "k", arn=BOB)


def test_a_bucket_name_reused_by_another_account_misses(world: World) -> None:
    """Bucket names are global: the owner is part of what a decision depends on."""
    buckets.create_bucket(world.s3, world.ctx(), "reused", None)
    buckets.head_bucket(world.s3, world.ctx(), "reused")
    buckets.delete_bucket(world.s3, world.ctx(), "reused")
    buckets.create_bucket(world.s3, world.ctx(ROOT_B), "reused", None)
    with pytest.raises(errors.AccessDenied, match="no resource-based policy allows"):
        buckets.head_bucket(world.s3, world.ctx(), "reused")


def test_denial_message_from_the_cache_is_the_uncached_one(
    w: World, evaluations: list[tuple[str, Decision]]
) -> None:
    bucket_config.put_bucket_policy(w.s3, w.ctx(), "bkt", REQUIRE_KMS)
    w.kms.storage.put_identity_policy(IdentityPolicy(BOB, "q", doc(
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"})))
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: put(w, "k", b"y"), "with an explicit deny in a resource-based policy"),
        (lambda: get(w, "k", arn=BOB), "with an explicit deny in an identity-based policy"),
        (lambda: get(w, "k", arn=ROOT_B), "because no resource-based policy allows the s3:GetObject action"),
    ]
    for call, tail in cases:
        w.s3.authz.clear()
        before = len(evaluations)
        uncached = denial(call)
        cached = denial(call)
        assert len(evaluations) == before + 1  # the second from the cache
        assert cached == uncached and uncached.endswith(tail)
        assert ' on resource: "arn:aws:s3:::bkt/k" ' in uncached
    assert denial(lambda: get(w, "k", arn=ROOT_B)) == (
        f'User: {ROOT_B} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::bkt/k" '
        "because no resource-based policy allows the s3:GetObject action"
    )


def test_s3_decisions_live_in_a_table_of_their_own(world: World) -> None:
    """One entry per object ARN: S3 traffic over many objects must not flush (or fill)
    the KMS decision cache."""
    buckets.create_bucket(world.s3, world.ctx(), "bkt", None)
    kms_before = len(world.kms.authz._decisions)  # noqa: SLF001
    for n in range(20):
        objects.put_object(world.s3, world.ctx(), PutObjectRequest("bkt", f"k{n}"), [b"x"])
    assert len(world.kms.authz._decisions) == kms_before  # noqa: SLF001
    assert len(world.s3.authz._decisions) >= 20  # noqa: SLF001
