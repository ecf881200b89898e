"""The request time: ``X-Amz-Date`` and ``Date`` parsing, and AWS's date format (spec §1.6 step 2).

A malformed ``X-Amz-Date`` gets AWS's "Date must be in ISO-8601 'basic format'" text
(spec §1.5); an unparseable ``Date`` is reported to the caller as ``None``, which
treats it as absent.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from email.utils import parsedate_tz
from time import gmtime, strftime

from trent import errors
from trent.protocol.sigv4.echo import echo

_AMZ_DATE_RE = re.compile(r"\d{8}T\d{6}Z", re.ASCII)

_amz_date_memo: dict[str, int] = {}


def parse_amz_date(value: str) -> int:
    """``yyyymmddThhmmssZ`` -> epoch seconds; malformed -> IncompleteSignature (AWS text)."""
    # Under load thousands of requests share each second's X-Amz-Date: memoize (bounded).
    cached = _amz_date_memo.get(value)
    if cached is not None:
        return cached
    result = _parse_amz_date(value)
    if len(_amz_date_memo) >= 256:
        _amz_date_memo.clear()
    _amz_date_memo[value] = result
    return result


def _parse_amz_date(value: str) -> int:
    if _AMZ_DATE_RE.fullmatch(value):
        try:
            # datetime validates the calendar (no 31 February); timegm gives UTC epoch.
            dt = datetime(
                int(value[0:4]), int(value[4:6]), int(value[6:8]),
                int(value[9:11]), int(value[11:13]), int(value[13:15]),
            )
            return calendar.timegm(dt.timetuple())
        except ValueError:
            pass
    raise errors.IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{echo(value)}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def format_amz_date(epoch: float) -> str:
    """Epoch seconds -> ``yyyymmddThhmmssZ`` (seconds truncated, as AWS prints them)."""
    return strftime("%Y%m%dT%H%M%SZ", gmtime(int(epoch)))


def parse_http_date(value: str) -> int | None:
    """RFC 1123 ``Date`` header -> epoch seconds, or None if unparseable."""
    try:
        t = parsedate_tz(value)
        if t is None:
            return None
        epoch = calendar.timegm(t[:9]) - (t[9] or 0)
        format_amz_date(epoch)  # range check: gmtime/strftime reject absurd years
        return epoch
    except (ValueError, OverflowError, TypeError, IndexError):
        return None
