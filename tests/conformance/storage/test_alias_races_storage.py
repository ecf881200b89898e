"""A caught duplicate alias leaves the request's transaction usable (issue 19): the
predefined alias/aws/* rows and the AWS managed keys behind them are made by whichever
request comes first; the others catch Duplicate and carry on in the same scope, which on
PostgreSQL needs the INSERT in a savepoint (an error aborts the whole transaction)."""

from __future__ import annotations

import pytest

from trent.storage.repositories import Duplicate, Storage

from . import builders as b
from .builders import ACCOUNT, REGION


def test_a_caught_duplicate_alias_leaves_the_scope_usable(storage: Storage) -> None:
    first = b.alias("alias/aws/sqs", None)
    storage.create_alias(first)
    with storage.atomic():
        storage.create_alias(b.alias("alias/aws/sns", None))  # the scope has begun writing
        with pytest.raises(Duplicate):
            storage.create_alias(first)
        found = storage.get_alias(ACCOUNT, REGION, "alias/aws/sqs")
        assert found is not None and found.target_key_id is None
        storage.create_alias(b.alias("alias/aws/ssm", None))
    names = {a.name for a in storage.list_aliases(ACCOUNT, REGION, None, 100, None).items}
    assert {"alias/aws/sqs", "alias/aws/sns", "alias/aws/ssm"} <= names
