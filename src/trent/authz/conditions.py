"""IAM condition operators (spec §7.4; IAM "condition operators" reference).

A ``Condition`` block is parsed once into ``ConditionClause`` values (operator, key,
policy values) with the matching work prepared (wildcards compiled, CIDRs, numbers and
dates parsed). ``clause.holds(context)`` is the hot-path predicate; ``clause.actual``
and the clause's fields are what "explain" shows.

Semantics, in one place:
* Several values for one key in the policy: OR. Several keys / operators: AND.
* A key absent from the request: positive operators are false; negated operators
  (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``...) are true; ``...IfExists``
  is true; ``Null`` tests exactly presence.
* ``ForAllValues:`` true when every request value matches (so absent/empty -> true);
  ``ForAnyValue:`` true when at least one does (absent/empty -> false). Without a set
  prefix a multi-valued request key behaves like ``ForAnyValue``.
* Negated operators negate the per-value match: ``StringNotEquals`` with policy values
  [a, b] means "equal to neither".
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from trent.authz.context import ConditionContext, Values
from trent.authz.wildcards import arn_like, compile_pattern, compile_patterns

ValueTest = Callable[[str], bool]


class SetQualifier(enum.StrEnum):
    NONE = ""
    FOR_ANY_VALUE = "ForAnyValue"
    FOR_ALL_VALUES = "ForAllValues"


# base operator -> (family, negated)
_OPERATORS: dict[str, tuple[str, bool]] = {
    "StringEquals": ("string", False),
    "StringNotEquals": ("string", True),
    "StringEqualsIgnoreCase": ("string_ci", False),
    "StringNotEqualsIgnoreCase": ("string_ci", True),
    "StringLike": ("string_like", False),
    "StringNotLike": ("string_like", True),
    "NumericEquals": ("numeric_eq", False),
    "NumericNotEquals": ("numeric_eq", True),
    "NumericLessThan": ("numeric_lt", False),
    "NumericLessThanEquals": ("numeric_le", False),
    "NumericGreaterThan": ("numeric_gt", False),
    "NumericGreaterThanEquals": ("numeric_ge", False),
    "DateEquals": ("date_eq", False),
    "DateNotEquals": ("date_eq", True),
    "DateLessThan": ("date_lt", False),
    "DateLessThanEquals": ("date_le", False),
    "DateGreaterThan": ("date_gt", False),
    "DateGreaterThanEquals": ("date_ge", False),
    "Bool": ("bool", False),
    "BinaryEquals": ("string", False),
    "IpAddress": ("ip", False),
    "NotIpAddress": ("ip", True),
    "ArnEquals": ("arn", False),
    "ArnLike": ("arn", False),
    "ArnNotEquals": ("arn", True),
    "ArnNotLike": ("arn", True),
    "Null": ("null", False),
}
_OPERATORS_CI = {name.lower(): name for name in _OPERATORS}


class ConditionError(ValueError):
    """A condition block that is not valid IAM; policy_document turns it into
    MalformedPolicyDocument."""


@dataclass(frozen=True, slots=True)
class Operator:
    name: str  # as written in the policy, e.g. "ForAnyValue:StringLikeIfExists"
    base: str  # "StringLike"
    qualifier: SetQualifier
    if_exists: bool
    family: str
    negated: bool


def parse_operator(name: str) -> Operator:
    qualifier = SetQualifier.NONE
    rest = name
    if ":" in name:
        prefix, rest = name.split(":", 1)
        lowered = prefix.lower()
        if lowered == "foranyvalue":
            qualifier = SetQualifier.FOR_ANY_VALUE
        elif lowered == "forallvalues":
            qualifier = SetQualifier.FOR_ALL_VALUES
        else:
            raise ConditionError(f"unknown set operator {prefix!r}")
    if_exists = False
    base = _OPERATORS_CI.get(rest.lower())
    if base is None and rest.lower().endswith("ifexists"):
        base = _OPERATORS_CI.get(rest[: -len("IfExists")].lower())
        if_exists = True
        if base == "Null":
            raise ConditionError("Null has no IfExists form")
    if base is None:
        raise ConditionError(f"unknown condition operator {name!r}")
    family, negated = _OPERATORS[base]
    return Operator(name, base, qualifier, if_exists, family, negated)


@functools.lru_cache(maxsize=8192)
def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parsed once per distinct source address (a NotIpAddress list tests it many times)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_date(text: str) -> float | None:
    """ISO 8601 (date, date-time, `Z` or offset, fractions) or epoch seconds -> epoch seconds."""
    text = text.strip()
    if not text:
        return None
    if text.lstrip("-").replace(".", "", 1).isdigit():
        return float(text)
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp()


def _ordered(parse: Callable[[str], float | None], expected: str, compare: Callable[[float, float], bool]) -> ValueTest:
    bound = parse(expected)
    if bound is None:
        raise ConditionError(f"not a valid value for this operator: {expected!r}")

    def test(actual: str) -> bool:
        value = parse(actual)
        return value is not None and compare(value, bound)

    return test


def _value_test(family: str, expected: str) -> ValueTest:
    """The positive per-value predicate for one policy value."""
    if family == "string":
        return lambda actual: actual == expected
    if family == "string_ci":
        folded = expected.casefold()
        return lambda actual: actual.casefold() == folded
    if family == "string_like":
        return compile_pattern(expected)
    if family == "arn":
        return lambda actual: arn_like(expected, actual)
    if family == "bool":
        want = expected.lower()
        if want not in ("true", "false"):
            raise ConditionError(f"Bool expects true or false, not {expected!r}")
        return lambda actual: actual.lower() == want
    if family == "ip":
        try:
            network = ipaddress.ip_network(expected, strict=False)
        except ValueError as exc:
            raise ConditionError(f"not an IP address or CIDR: {expected!r}") from exc

        def in_network(actual: str) -> bool:
            address = _ip(actual)
            return address is not None and address.version == network.version and address in network

        return in_network
    kind, _, relation = family.partition("_")
    parse = _parse_number if kind == "numeric" else parse_date
    compare: Callable[[float, float], bool] = {
        "eq": lambda a, b: a == b,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
    }[relation]
    return _ordered(parse, expected, compare)


@dataclass(frozen=True, slots=True)
class ConditionClause:
    """One operator + one key + its policy values."""

    operator: Operator
    key: str  # as written (for explain)
    lowered_key: str
    values: tuple[str, ...]
    # one predicate for all policy values ("matches any of them"), negation applied
    _match: ValueTest = field(repr=False, compare=False)

    def actual(self, context: ConditionContext) -> Values | None:
        return context.get(self.lowered_key)

    def holds(self, context: ConditionContext) -> bool:
        op = self.operator
        actual = context.get(self.lowered_key)
        if op.family == "null":
            # Null: "true" = the key must be absent, "false" = it must be present.
            return any((actual is None) == (v.lower() == "true") for v in self.values)
        if not actual:
            if op.if_exists:
                return True
            if op.qualifier is SetQualifier.FOR_ALL_VALUES:
                return True
            if op.qualifier is SetQualifier.FOR_ANY_VALUE:
                return False
            return op.negated
        match = self._match
        if len(actual) == 1:  # the common single-valued key: no generator
            return match(actual[0])
        if op.qualifier is SetQualifier.FOR_ALL_VALUES:
            return all(match(a) for a in actual)
        if op.negated and op.qualifier is SetQualifier.NONE:
            # StringNotEquals on a multi-valued key without a qualifier: no request value may match
            return all(match(a) for a in actual)
        return any(match(a) for a in actual)


def _never(_actual: str) -> bool:
    return False


def _combine(family: str, values: tuple[str, ...], negated: bool) -> ValueTest:
    """One predicate "matches any policy value" (negated for the Not operators); exact
    string values become one set lookup, wildcard patterns one regex."""
    single: ValueTest
    if family == "string":
        wanted = frozenset(values)
        single = wanted.__contains__
    elif family == "string_ci":
        folded = frozenset(v.casefold() for v in values)

        def in_folded(actual: str) -> bool:
            return actual.casefold() in folded

        single = in_folded
    elif family == "string_like":
        single = compile_patterns(values)
    else:
        tests = tuple(_value_test(family, v) for v in values)
        if len(tests) == 1:
            single = tests[0]
        else:
            def any_test(actual: str) -> bool:
                return any(t(actual) for t in tests)

            single = any_test
    if negated:
        return lambda actual: not single(actual)
    return single


def _as_strings(raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise ConditionError("condition values must be strings, numbers or booleans")
    if not out:
        raise ConditionError("a condition key needs at least one value")
    return tuple(out)


def make_clause(operator_name: str, key: str, raw_values: object) -> ConditionClause:
    op = parse_operator(operator_name)
    if not isinstance(key, str) or not key:
        raise ConditionError("condition keys must be non-empty strings")
    values = _as_strings(raw_values)
    if op.family == "null":
        for v in values:
            if v.lower() not in ("true", "false"):
                raise ConditionError("Null expects true or false")
        match: ValueTest = _never
    else:
        match = _combine(op.family, values, op.negated)
    return ConditionClause(op, key, key.lower(), values, match)


def parse_condition_block(block: object) -> tuple[ConditionClause, ...]:
    """``{"StringEquals": {"kms:CallerAccount": "111122223333"}, ...}`` -> clauses (AND)."""
    if not isinstance(block, dict):
        raise ConditionError("Condition must be an object")
    clauses = []
    for operator_name, keys in block.items():
        if not isinstance(keys, dict) or not keys:
            raise ConditionError(f"{operator_name} must map condition keys to values")
        for key, raw in keys.items():
            clauses.append(make_clause(operator_name, key, raw))
    return tuple(clauses)


def first_failing(clauses: tuple[ConditionClause, ...], context: ConditionContext) -> ConditionClause | None:
    for clause in clauses:
        if not clause.holds(context):
            return clause
    return None
