"""The checks that need no secret: credential scope and clock skew (spec §1.6 steps 2 and 7).

Each failure is :class:`errors.InvalidSignature` with AWS's exact text (spec §1.5).
Clock skew is ±5 minutes, inclusive (spec §1.5 "Clock skew"). Nothing here reads a
clock: ``now`` is a parameter (habits §3).
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Union

from trent import errors
from trent.protocol.sigv4.authorization import ParsedAuth
from trent.protocol.sigv4.constants import DEFAULT_SERVICE, MAX_SKEW_SECONDS, TERMINATOR
from trent.protocol.sigv4.dates import format_amz_date
from trent.protocol.sigv4.echo import echo

RegionCheck = Union[Callable[[str], bool], Container[str]]


def check_scope_and_time(
    parsed: ParsedAuth,
    now: float,
    region_ok: RegionCheck,
    *,
    service: str = DEFAULT_SERVICE,
    max_skew: int = MAX_SKEW_SECONDS,
) -> None:
    """Checks that need no secret; raise :class:`errors.InvalidSignature` with AWS's texts.

    ``region_ok`` is a predicate or a container of served regions.
    """
    auth = parsed.authorization
    if auth.date != parsed.amz_date[:8]:
        raise errors.InvalidSignature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{echo(auth.date)}' != '{parsed.amz_date[:8]}', from '{parsed.amz_date}'."
        )
    served = region_ok(auth.region) if callable(region_ok) else auth.region in region_ok
    if not served:
        # spec §1.5: note the trailing space, AWS sends it
        raise errors.InvalidSignature("Credential should be scoped to a valid region. ")
    if auth.service != service:
        raise errors.InvalidSignature(f"Credential should be scoped to correct service: '{service}'. ")
    if auth.terminal != TERMINATOR:
        raise errors.InvalidSignature(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{echo(auth.terminal)}'. "
        )
    whole_now = int(now)
    minutes = max_skew // 60
    if parsed.request_time < whole_now - max_skew:
        raise errors.InvalidSignature(
            f"Signature expired: {parsed.amz_date} is now earlier than "
            f"{format_amz_date(whole_now - max_skew)} ({format_amz_date(whole_now)} - {minutes} min.)"
        )
    if parsed.request_time > whole_now + max_skew:
        raise errors.InvalidSignature(
            f"Signature not yet current: {parsed.amz_date} is still later than "
            f"{format_amz_date(whole_now + max_skew)} ({format_amz_date(whole_now)} + {minutes} min.)"
        )
