"""Small helpers for wire tests: assert on a botocore ClientError's wire fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def wire_error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run a boto3 call that must fail; return {code, message, status, request_id}."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return {
        "code": response["Error"]["Code"],
        "message": response["Error"].get("Message", ""),
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
        "request_id": response["ResponseMetadata"].get("RequestId"),
    }


def expect_error(call: Callable[..., Any], code: str, message: str | None = None, status: int = 400, **kwargs: Any) -> dict[str, Any]:
    err = wire_error(call, **kwargs)
    assert err["code"] == code, err
    assert err["status"] == status, err
    if message is not None:
        assert err["message"] == message, err
    assert err["request_id"], "every response carries x-amzn-RequestId"
    return err
