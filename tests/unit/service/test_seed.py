"""service/seed.py: one JSON document, applied idempotently, with clear errors (issue 5)."""

from __future__ import annotations

import json

import pytest

from tests.unit.service.iam_fixtures import A, make_deps
from trent.service import identity, seed


@pytest.fixture()
def deps():
    yield from make_deps()


C = "777788889999"
SEED = {
    "accounts": [
        {
            "id": C,
            "name": "tenant",
            "users": [
                {
                    "name": "carol",
                    "access_keys": [{"id": "AKIACAROL0000000001", "secret": "carol-secret"}],
                    "policies": {"Kms": {"Version": "2012-10-17",
                                         "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}},
                }
            ],
            "roles": [
                {
                    "name": "app",
                    "trust_policy": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{C}:user/carol"},
                         "Action": "sts:AssumeRole"}]},
                    "max_session_duration": 7200,
                    "policies": {"Decrypt": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}},
                }
            ],
        }
    ]
}


def test_seed_is_idempotent(deps):
    first = seed.apply_file(deps, json.dumps(SEED))
    assert f"arn:aws:iam::{C}:user/carol" in first.created and f"arn:aws:iam::{C}:role/app" in first.created
    assert "access key AKIACAROL0000000001" in first.created
    who = identity.Authenticator(deps).authenticate("AKIACAROL0000000001", None, 0)
    assert who.principal.arn == f"arn:aws:iam::{C}:user/carol" and who.secret == "carol-secret"
    role = deps.storage.get_role(f"arn:aws:iam::{C}:role/app")
    assert role.max_session_duration == 7200
    assert [p.name for p in deps.storage.list_identity_policies(role.arn)] == ["Decrypt"]

    second = seed.apply_file(deps, json.dumps(SEED))
    assert second.created == [] and second.updated == []
    assert deps.storage.get_role(role.arn).role_id == role.role_id

    changed = json.loads(json.dumps(SEED))
    changed["accounts"][0]["roles"][0]["max_session_duration"] = 3600
    third = seed.apply_file(deps, json.dumps(changed))
    assert third.updated == [role.arn]
    assert deps.storage.get_role(role.arn).max_session_duration == 3600


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[", "seed file is not valid JSON"),
        ({"acounts": []}, "seed: unknown member 'acounts'"),
        ({"accounts": [{"name": "x"}]}, "accounts[0]: 'id' is required"),
        ({"accounts": [{"id": C, "users": [{"name": "u", "polices": {}}]}]}, "accounts[0].users[0]: unknown member 'polices'"),
        ({"accounts": [{"id": C, "users": [{"name": "u", "access_keys": [{"id": "AKIAX"}]}]}]},
         "accounts[0].users[0].access_keys[0]: 'secret' is required"),
        ({"accounts": [{"id": C, "roles": [{"name": "r", "trust_policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole"}]}}]}]}, "accounts[0].roles[0]: "),
        ({"accounts": [{"id": "12"}]}, "accounts[0]: Account id '12' must be 12 digits"),
    ],
)
def test_seed_errors_name_the_element(deps, document, message):
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(seed.SeedError) as info:
        seed.apply_file(deps, text)
    assert message in info.value.message


def test_shape_errors_change_nothing(deps):
    bad = json.loads(json.dumps(SEED))
    bad["accounts"][0]["roles"][0]["surprise"] = 1
    with pytest.raises(seed.SeedError):
        seed.apply_file(deps, json.dumps(bad))
    assert deps.storage.get_account(C) is None


def test_access_key_of_another_user_is_refused(deps):
    seed.apply_file(deps, json.dumps(SEED))
    other = {"accounts": [{"id": A, "users": [{"name": "alice", "access_keys": [
        {"id": "AKIACAROL0000000001", "secret": "x"}]}]}]}
    with pytest.raises(seed.SeedError, match="already belongs to"):
        seed.apply_file(deps, json.dumps(other))
