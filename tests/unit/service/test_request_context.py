"""RequestContext.via and Principal's hash: hand-written for speed, so checked against
what the generated code would do."""

from __future__ import annotations

import dataclasses

from trent.domain.principals import Principal, PrincipalKind
from trent.service.context import RequestContext

ALICE = Principal("arn:aws:iam::111122223333:user/alice", "111122223333", PrincipalKind.IAM_USER, "alice",
                  "AIDAALICE")
CTX = RequestContext(ALICE, "AKIAALICE", "eu-west-1", "aws", "req-1", 1_800_000_000.5, "192.0.2.7", "boto3/1",
                     ("grant-token",), None, True)


def test_via_changes_only_the_via_service() -> None:
    assert CTX.via("s3.eu-west-1.amazonaws.com") == dataclasses.replace(CTX, via_service="s3.eu-west-1.amazonaws.com")


def test_via_knows_every_field() -> None:
    """A field added to RequestContext must be copied by ``via`` too: this list is the reminder."""
    assert [f.name for f in dataclasses.fields(RequestContext)] == [
        "principal", "access_key_id", "region", "partition", "request_id", "now", "source_ip", "user_agent",
        "grant_tokens", "via_service", "secure_transport"]


def test_principal_hash_agrees_with_equality() -> None:
    twin = dataclasses.replace(ALICE)
    renamed = dataclasses.replace(ALICE, name="alice2")
    assert twin == ALICE and hash(twin) == hash(ALICE)
    assert renamed != ALICE  # same ARN, other fields: unequal, a hash collision is allowed
    assert len({ALICE, twin, renamed}) == 2
