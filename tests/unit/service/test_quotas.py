"""service/quotas.py: token buckets per account, Region and family (issue 20)."""

from __future__ import annotations

import pytest

from trent.errors import Throttling
from trent.service.quotas import AWS_DEFAULTS, RequestQuotas, family_of, load_limits


def _passes(quotas: RequestQuotas, n: int, now: float, account: str = "111122223333", op: str = "Encrypt") -> int:
    ok = 0
    for _ in range(n):
        try:
            quotas.check(account, "us-east-1", op, now)
            ok += 1
        except Throttling as exc:
            assert exc.message == "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
    return ok


def test_a_burst_up_to_the_quota_passes_then_the_rate_is_held() -> None:
    quotas = RequestQuotas({"symmetric": 100})
    assert _passes(quotas, 150, now=10.0) == 100
    assert quotas.rejected == 50
    assert _passes(quotas, 100, now=10.5) == 50  # half a second refills half
    assert _passes(quotas, 100, now=20.0) == 100  # never more than one second's worth


def test_families_accounts_and_regions_are_separate() -> None:
    quotas = RequestQuotas({"symmetric": 10, "hmac": 5, "CreateKey": 2})
    assert family_of("GenerateDataKey") == "symmetric" and family_of("VerifyMac") == "hmac"
    assert family_of("CreateKey") == "CreateKey"
    assert _passes(quotas, 20, 1.0, op="Decrypt") == 10
    assert _passes(quotas, 20, 1.0, op="GenerateMac") == 5
    assert _passes(quotas, 20, 1.0, op="CreateKey") == 2
    assert _passes(quotas, 20, 1.0, account="444455556666", op="Decrypt") == 10
    assert _passes(quotas, 20, 1.0, op="ListKeys") == 20  # no quota configured for it here


def test_a_share_of_the_quota_per_process() -> None:
    quotas = RequestQuotas({"symmetric": 100})
    quotas.set_share(1 / 4)
    assert _passes(quotas, 100, 1.0) == 25


def test_quotas_below_one_per_second() -> None:
    quotas = RequestQuotas({"GetParametersForImport": 1})
    quotas.set_share(1 / 2)  # two processes: each may serve one call every two seconds
    assert _passes(quotas, 5, 1.0, op="GetParametersForImport") == 1
    assert _passes(quotas, 5, 2.0, op="GetParametersForImport") == 0
    assert _passes(quotas, 5, 3.0, op="GetParametersForImport") == 1


def test_configuration() -> None:
    assert load_limits(None, dev=True) is None
    assert load_limits(None, dev=False) == dict(AWS_DEFAULTS)
    assert load_limits("off", dev=False) is None
    merged = load_limits("q.json", dev=True, read_file=lambda _: '{"symmetric": 20000, "CreateKey": 50}')
    assert merged["symmetric"] == 20000 and merged["CreateKey"] == 50 and merged["hmac"] == AWS_DEFAULTS["hmac"]
    with pytest.raises(ValueError):
        load_limits("q.json", dev=True, read_file=lambda _: '["symmetric"]')
    with pytest.raises(ValueError):
        RequestQuotas({"Encrpyt": 5})
    with pytest.raises(ValueError):
        RequestQuotas({"symmetric": 0})
