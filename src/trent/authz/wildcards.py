"""IAM wildcard matching (`*` any run of characters, `?` exactly one), compiled once.

Policies are evaluated on the hot path (every Encrypt), so each pattern is translated
to a regular expression once and cached; a pattern without wildcards is compared with
``==`` and never reaches ``re``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

Matcher = Callable[[str], bool]


def _translate(pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str, ignore_case: bool = False) -> Matcher:
    """A predicate ``value -> bool`` for one IAM wildcard pattern."""
    if pattern == "*":
        return lambda _value: True
    if "*" not in pattern and "?" not in pattern:
        if ignore_case:
            folded = pattern.casefold()
            return lambda value: value.casefold() == folded
        return lambda value: value == pattern
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    regex = re.compile(_translate(pattern), flags)
    return lambda value: regex.fullmatch(value) is not None


def compile_patterns(patterns: Iterable[str], ignore_case: bool = False) -> Matcher:
    """One predicate for a list of patterns (true if any matches): exact values go to a
    set lookup, wildcard patterns into one alternation regex."""
    exact: set[str] = set()
    wild: list[str] = []
    for p in patterns:
        if p == "*":
            return lambda _value: True
        if "*" in p or "?" in p:
            wild.append(p)
        else:
            exact.add(p.casefold() if ignore_case else p)
    regex = None
    if wild:
        flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
        regex = re.compile("|".join(f"(?:{_translate(p)})" for p in wild), flags)
    frozen = frozenset(exact)
    if regex is None:
        if ignore_case:
            return lambda value: value.casefold() in frozen
        return lambda value: value in frozen
    rx = regex
    if ignore_case:
        return lambda value: value.casefold() in frozen or rx.fullmatch(value) is not None
    return lambda value: value in frozen or rx.fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: the six colon-separated ARN parts are matched one by one, each
    with wildcards (IAM condition-operator reference), so `*` never spans a colon before
    the resource part."""
    p_parts = pattern.split(":", 5)
    v_parts = value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(compile_pattern(p)(v) for p, v in zip(p_parts, v_parts, strict=True))
