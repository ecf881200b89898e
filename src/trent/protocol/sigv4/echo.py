"""Client-supplied text quoted back in AWS's error messages, capped (spec §1.5).

AWS's texts echo the offending value (the Authorization header, a date, a terminator);
the echo is capped so a huge header is not reflected verbatim.
"""

from __future__ import annotations

MAX_ECHO_CHARS = 2048


def echo(header: str) -> str:
    return header if len(header) <= MAX_ECHO_CHARS else header[:MAX_ECHO_CHARS] + "..."
