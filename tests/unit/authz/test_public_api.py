"""The package's public surface (habits §12): what the service will wire in."""

from __future__ import annotations

import dataclasses

from trent import authz


def test_all_names_exist():
    for name in authz.__all__:
        assert hasattr(authz, name), name


def test_values_are_frozen_dataclasses():
    for cls in (
        authz.AuthzRequest, authz.RequestFacts, authz.ConditionContext, authz.PolicyDocument, authz.Statement,
        authz.Grant, authz.GrantConstraints, authz.Allow, authz.ExplicitDeny, authz.ImplicitDeny,
        authz.StatementRef, authz.GrantRef, authz.Explanation, authz.Caller,
    ):
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]


def test_authz_imports_no_io_layers():
    import sys

    for mod in list(sys.modules):
        if mod.startswith("trent.authz"):
            src = sys.modules[mod].__dict__
            for forbidden in ("trent.storage", "trent.service", "trent.protocol", "sqlalchemy"):
                assert not any(getattr(v, "__name__", "").startswith(forbidden) for v in src.values()), (mod, forbidden)
