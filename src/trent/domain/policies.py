"""Key policy documents as data (spec §7). Evaluation lives in ``trent.authz``."""

from __future__ import annotations

import json
from typing import Any

DEFAULT_POLICY_NAME = "default"

_INDENT = "  "
# Jackson's output escapes: short forms where JSON has them, other control characters as
# \u00XX with upper-case hex; everything else (non-ASCII too) written as is.
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\f": "\\f", "\n": "\\n", "\r": "\\r"}


def _string(text: str) -> str:
    return '"' + "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if c < " " else c) for c in text) + '"'


def aws_policy_layout(document: Any, depth: int = 0) -> str:
    """A policy document laid out as AWS returns the policies it writes itself (spec §7.1):
    Jackson's default pretty printer -- objects one member a line, 2-space indent,
    `" : "` between name and value; arrays on one line, `[ a, b ]`, so a list of
    statements reads `[ {` ... `}, {` ... `} ]`; empty ones `{ }` and `[ ]`."""
    if isinstance(document, dict):
        if not document:
            return "{ }"
        inner = _INDENT * (depth + 1)
        members = ",\n".join(f"{inner}{_string(k)} : {aws_policy_layout(v, depth + 1)}" for k, v in document.items())
        return "{\n" + members + "\n" + _INDENT * depth + "}"
    if isinstance(document, list):
        if not document:
            return "[ ]"
        return "[ " + ", ".join(aws_policy_layout(v, depth) for v in document) + " ]"
    if isinstance(document, str):
        return _string(document)
    return json.dumps(document)


def default_key_policy(account_id: str, partition: str = "aws") -> str:
    """The policy CreateKey attaches when none is given, byte-exact as AWS returns it
    (spec §7.1: Jackson pretty layout, 2-space indent, `" : "` separators)."""
    return (
        "{\n"
        '  "Version" : "2012-10-17",\n'
        '  "Id" : "key-default-1",\n'
        '  "Statement" : [ {\n'
        '    "Sid" : "Enable IAM User Permissions",\n'
        '    "Effect" : "Allow",\n'
        '    "Principal" : {\n'
        f'      "AWS" : "arn:{partition}:iam::{account_id}:root"\n'
        "    },\n"
        '    "Action" : "kms:*",\n'
        '    "Resource" : "*"\n'
        "  } ]\n"
        "}"
    )
