"""The botocore KMS service model: the source of truth for request shapes (spec preamble).

Loaded once from the installed botocore (``botocore/data/kms/<version>/service-2.json.gz``)
through botocore's own loader, so we read exactly what boto3 clients are built from.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from botocore.loaders import Loader

SERVICE_NAME = "kms"


@lru_cache(maxsize=1)
def kms_model() -> dict[str, Any]:
    """The raw service-2 model (``metadata``, ``operations``, ``shapes``); do not mutate."""
    model: dict[str, Any] = Loader().load_service_model(SERVICE_NAME, "service-2")
    return model


def shapes() -> dict[str, Any]:
    return kms_model()["shapes"]  # type: ignore[no-any-return]


def operations() -> dict[str, Any]:
    return kms_model()["operations"]  # type: ignore[no-any-return]


def lower_camel(member_name: str) -> str:
    """Wire member name -> the name AWS uses in messages and CloudTrail (spec §1.7, §11):
    first letter lowercased, nothing else touched (``KeyId`` -> ``keyId``)."""
    return member_name[:1].lower() + member_name[1:]
