"""service/iam.py: IAM's rules for roles and inline identity policies (issue 5)."""

from __future__ import annotations

import pytest

from tests.unit.service.iam_fixtures import ALICE, A, B, doc, make_deps, trusting
from trent.domain.principals import PrincipalKind
from trent.errors import (
    AlreadyExists,
    LimitExceeded,
    MalformedPolicyDocument,
    NotFound,
    ValidationError,
)
from trent.service import iam


@pytest.fixture()
def deps():
    yield from make_deps()


ALLOW_KMS = doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})


def test_create_role(deps):
    role = iam.create_role(deps, A, "app", trusting(ALICE), 7200)
    assert role.arn == f"arn:aws:iam::{A}:role/app"
    assert role.role_id.startswith("AROA") and len(role.role_id) == 21
    assert role.max_session_duration == 7200 and role.trust_policy == trusting(ALICE)
    assert deps.storage.get_role(role.arn) == role
    principal = deps.storage.get_principal(role.arn)
    assert principal is not None and principal.kind is PrincipalKind.ROLE
    assert [r.name for r in iam.list_roles(deps, A)] == ["app"]


@pytest.mark.parametrize(
    ("name", "duration", "error"),
    [
        ("bad name", 3600, ValidationError),
        ("x" * 65, 3600, ValidationError),
        ("", 3600, ValidationError),
        ("ok", 3599, ValidationError),
        ("ok", 43201, ValidationError),
    ],
)
def test_create_role_validation(deps, name, duration, error):
    with pytest.raises(error):
        iam.create_role(deps, A, name, trusting(ALICE), duration)
    assert list(iam.list_roles(deps, A)) == []


def test_create_role_needs_an_account(deps):
    with pytest.raises(NotFound):
        iam.create_role(deps, "999999999999", "app", trusting(ALICE))
    with pytest.raises(ValidationError):
        iam.create_role(deps, "12", "app", trusting(ALICE))


@pytest.mark.parametrize(
    "policy",
    [
        doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),  # no Principal
        doc({"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:Decrypt"}),  # not an STS action
        doc({"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole", "Resource": "*"}),
        trusting(f"arn:aws:iam::{A}:user/nobody"),  # unknown principal
        "{not json",
    ],
)
def test_invalid_trust_policies(deps, policy):
    with pytest.raises(MalformedPolicyDocument):
        iam.create_role(deps, A, "app", policy)


def test_role_names_are_unique_case_insensitively(deps):
    iam.create_role(deps, A, "App", trusting(ALICE))
    with pytest.raises(AlreadyExists, match="Role with name app already exists."):
        iam.create_role(deps, A, "app", trusting(ALICE))
    iam.create_role(deps, B, "app", trusting(A))  # another account: fine


def test_update_and_delete_role(deps):
    role = iam.create_role(deps, A, "app", trusting(ALICE))
    updated = iam.update_assume_role_policy(deps, role.arn, trusting(B))
    assert deps.storage.get_role(role.arn).trust_policy == updated.trust_policy == trusting(B)
    with pytest.raises(MalformedPolicyDocument):
        iam.update_assume_role_policy(deps, role.arn, doc({"Effect": "Allow", "Action": "sts:AssumeRole"}))
    assert deps.storage.get_role(role.arn).trust_policy == trusting(B)
    iam.put_role_policy(deps, A, "app", "kms", ALLOW_KMS)
    iam.delete_role(deps, role.arn)
    assert deps.storage.get_role(role.arn) is None
    assert list(deps.storage.list_identity_policies(role.arn)) == []
    with pytest.raises(NotFound, match="The role with name app cannot be found."):
        iam.delete_role(deps, role.arn)


def test_user_policies(deps):
    iam.put_user_policy(deps, A, "alice", "kms", ALLOW_KMS)
    iam.put_user_policy(deps, A, "alice", "kms", ALLOW_KMS.replace("kms:*", "kms:Encrypt"))  # replace by name
    policies = iam.list_policies(deps, ALICE)
    assert [(p.name, "kms:Encrypt" in p.document) for p in policies] == [("kms", True)]
    iam.delete_user_policy(deps, A, "alice", "kms")
    assert list(iam.list_policies(deps, ALICE)) == []
    with pytest.raises(NotFound, match="The user policy with name kms cannot be found."):
        iam.delete_user_policy(deps, A, "alice", "kms")
    with pytest.raises(NotFound, match="The user with name carol cannot be found."):
        iam.put_user_policy(deps, A, "carol", "kms", ALLOW_KMS)


@pytest.mark.parametrize(
    ("name", "document", "error"),
    [
        ("bad name", ALLOW_KMS, ValidationError),
        ("x" * 129, ALLOW_KMS, ValidationError),
        ("ok", doc({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}), MalformedPolicyDocument),
        ("ok", "[]", MalformedPolicyDocument),
    ],
)
def test_policy_validation(deps, name, document, error):
    with pytest.raises(error):
        iam.put_user_policy(deps, A, "alice", name, document)
    assert list(iam.list_policies(deps, ALICE)) == []


def _sized(chars: int) -> str:
    """A valid policy of about ``chars`` non-white-space characters (a long Sid)."""
    base = doc({"Sid": "", "Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    return base.replace('"Sid": ""', '"Sid": "' + "S" * (chars - len(base.replace(" ", ""))) + '"')


def test_aggregate_inline_policy_quota_user_2048_role_10240(deps):
    iam.put_user_policy(deps, A, "alice", "one", _sized(1000))
    iam.put_user_policy(deps, A, "alice", "one", _sized(1500))  # replacing does not count twice
    with pytest.raises(LimitExceeded, match="Maximum policy size of 2048 bytes exceeded for user alice"):
        iam.put_user_policy(deps, A, "alice", "two", _sized(600))
    iam.put_user_policy(deps, A, "alice", "two", _sized(500))
    iam.create_role(deps, A, "app", trusting(ALICE))
    for i in range(5):
        iam.put_role_policy(deps, A, "app", f"p{i}", _sized(2000))
    with pytest.raises(LimitExceeded, match="10240 bytes exceeded for role app"):
        iam.put_role_policy(deps, A, "app", "p5", _sized(300))
