"""Small parsers for what people type into console forms: one ``key=value`` per line
(tags, encryption context, grant constraints) and one ARN per line (principals)."""

from __future__ import annotations


def key_value_lines(text: str) -> list[tuple[str, str]]:
    """``key=value`` per line (the first ``=`` splits); blank lines ignored. ValueError names
    the first line that is not a pair."""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"Line {number} is not key=value.")
        pairs.append((key.strip(), value.strip()))
    return pairs


def arn_lines(text: str) -> list[str]:
    """One principal ARN per line (or separated by spaces or commas)."""
    arns = [a.strip() for a in text.replace(",", " ").split() if a.strip()]
    for arn in arns:
        if not arn.startswith("arn:") or arn.count(":") < 5:
            raise ValueError(f"{arn[:80]!r} is not an ARN (arn:aws:iam::111122223333:user/name).")
    return arns
