"""First use of the predefined aliases and AWS managed keys under concurrency, on a cluster
(two SQLite worker processes; two nodes on one PostgreSQL) (issue 19 §2). Many first
requests race to create the same alias rows and the same managed key; the database's
uniqueness decides, and every request still succeeds — never a 500 (on PostgreSQL a failed
INSERT aborts the rest of its transaction unless it ran in a savepoint)."""

from __future__ import annotations

import itertools

from tests.fixtures.trent_cluster import race

CALLS = 16
_regions = itertools.count()


def _clients(cluster) -> list:
    """One client per racing call, made up front, spread over the nodes, in a Region nobody
    used yet (the cluster fixtures live for the session)."""
    region = f"ap-southeast-{next(_regions) + 10}"
    return [cluster.client(i, region_name=region) for i in range(CALLS)]


def test_racing_first_list_aliases_all_succeed(trent_cluster):
    """AWS: the predefined aliases are there for every caller, however many come first at once."""
    clients = _clients(trent_cluster)
    outcomes = race(trent_cluster, CALLS, lambda _, i: sorted(
        a["AliasName"] for a in clients[i].list_aliases(Limit=100)["Aliases"]))
    assert {o.code for o in outcomes} == {"ok"}, outcomes
    assert len({tuple(o.value) for o in outcomes}) == 1 and "alias/aws/s3" in outcomes[0].value


def test_racing_first_describe_key_of_a_predefined_alias_makes_one_key(trent_cluster):
    """AWS: one AWS managed key per service, account and Region, however many DescribeKey
    calls on alias/aws/<service> come first at once, on whichever node."""
    clients = _clients(trent_cluster)
    outcomes = race(trent_cluster, CALLS, lambda _, i: clients[i].describe_key(
        KeyId="alias/aws/sqs")["KeyMetadata"]["KeyId"])
    assert {o.code for o in outcomes} == {"ok"}, outcomes
    assert len({o.value for o in outcomes}) == 1
    client = clients[0]
    managed = [k["KeyId"] for k in client.list_keys()["Keys"]
               if client.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyManager"] == "AWS"]
    assert managed == [outcomes[0].value]
