"""The Shamir-sealed root (issue 7): every k-subset of a small n rebuilds the root; k-1
shares, a wrong share, a repeated share or another split's shares leave it sealed."""

from __future__ import annotations

import itertools
import os

import pytest

from trent.keystores.base import KeyStoreSealed
from trent.keystores.root_key import AesRootKey
from trent.keystores.sealed import SealedRootKey, UnsealError, init_sealed_root, split_root

ROOT = bytes(range(32))


def _sealed(threshold: int = 3, shares: int = 5):
    seal_file, mnemonics = split_root(ROOT, threshold, shares)
    return SealedRootKey(seal_file), mnemonics


@pytest.mark.parametrize(("k", "n"), [(2, 3), (3, 5)])
def test_every_k_subset_rebuilds_the_root(k, n):
    seal_file, mnemonics = split_root(ROOT, k, n)
    reference = AesRootKey(ROOT).wrap(b"material", b"aad")
    for subset in itertools.combinations(mnemonics, k):
        for order in (subset, tuple(reversed(subset))):
            root = SealedRootKey(seal_file)
            for i, m in enumerate(order, 1):
                status = root.unseal(m)
                assert status.sealed is (i < k) and (status.progress == (i if i < k else 0))
            assert root.unwrap(reference, b"aad") == b"material"


def test_k_minus_one_shares_stay_sealed():
    root, mnemonics = _sealed()
    for m in mnemonics[:2]:
        assert root.unseal(m).sealed
    assert root.status().progress == 2
    with pytest.raises(KeyStoreSealed):
        root.wrap(b"x", b"aad")


def test_wrong_share_is_refused_and_progress_kept():
    root, mnemonics = _sealed()
    root.unseal(mnemonics[0])
    words = mnemonics[1].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    with pytest.raises(UnsealError, match="not a valid unseal share"):
        root.unseal(" ".join(words))
    with pytest.raises(UnsealError, match="already given"):
        root.unseal(mnemonics[0])
    assert root.status().progress == 1 and root.sealed
    root.unseal(mnemonics[1])
    assert not root.unseal(mnemonics[2]).sealed


def test_shares_of_another_split_are_refused():
    root, mnemonics = _sealed()
    _, others = split_root(os.urandom(32), 3, 5)
    root.unseal(mnemonics[0])
    with pytest.raises(UnsealError, match="another split"):
        root.unseal(others[1])
    # k shares of another whole split: combine fine, fail the check, stay sealed.
    fresh, _ = _sealed()
    fresh.unseal(others[0])
    fresh.unseal(others[1])
    with pytest.raises(UnsealError, match="do not rebuild"):
        fresh.unseal(others[2])
    assert fresh.sealed and fresh.status().progress == 0


def test_seal_again_and_listeners():
    root, mnemonics = _sealed(2, 3)
    seen = []
    root.on_change(seen.append)
    root.unseal(mnemonics[0])
    root.unseal(mnemonics[2])
    blob = root.wrap(b"secret", b"a")
    root.seal()
    assert seen == [False, True]
    with pytest.raises(KeyStoreSealed):
        root.unwrap(blob, b"a")
    assert "secret" not in repr(root)


def test_init_writes_no_secret(tmp_path):
    mnemonics = init_sealed_root(tmp_path, 2, 3, rng=lambda n: ROOT[:n])
    text = (tmp_path / "root.sealed").read_text()
    assert ROOT.hex() not in text and not any(m in text for m in mnemonics)
    assert oct((tmp_path / "root.sealed").stat().st_mode & 0o777) == "0o600"
    root = SealedRootKey.from_data_dir(tmp_path)
    root.unseal(mnemonics[1])
    assert not root.unseal(mnemonics[0]).sealed
    with pytest.raises(Exception, match="already has a sealed root"):
        init_sealed_root(tmp_path, 2, 3)


def test_threshold_validation():
    with pytest.raises(ValueError):
        split_root(ROOT, 4, 3)
    with pytest.raises(ValueError):
        split_root(ROOT, 1, 3)
