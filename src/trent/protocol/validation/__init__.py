"""Request validation compiled from the botocore KMS service model (spec §1.1, §1.7).

Nothing here is written per field: every operation's input shape is compiled, once and
on first use, into a tree of closures that check JSON types, ``required``, ``min``/``max``
(string characters, decoded blob bytes, list/map entries, number values), ``enum`` and
``pattern``, and return the decoded request (blobs -> ``bytes``, timestamps -> ``float``).
Unknown members are ignored, as AWS does, and dropped from the result.

Two failure kinds, in AWS's order (the front end deserializes before it validates):

* :class:`errors.SerializationError` — a JSON value of the wrong type, invalid base64,
  a number out of its Java range, a JSON ``null`` inside a list or map (KMS lists and
  maps are dense), or a body that is not a JSON object. Raised at the first such value.
  Messages imitate the Coral front end's terse wording (e.g. ``Start of structure or map
  found where not expected.``, ``STRING_VALUE can not be converted to an Integer``) and
  never contain the offending value.
* :class:`errors.ValidationError` — constraint violations, *all* of them collected, in
  model member order, formatted with AWS's template (spec §1.7)::

      1 validation error detected: Value '<value>' at '<path>' failed to satisfy constraint: Member must <rule>
      N validation errors detected: <item>; <item>

The modules, one concept each:

    validator.py    validate() and compile_all(): the public per-operation entry points
    catalog.py      the model's operations: names, input shapes, declared errors
    compiler.py     model shapes -> checking closures (paths, lengths, patterns)
    messages.py     AWS's and Coral's wording of each failure (shown values, rule texts)
    shape_kinds.py  scalar/container, Java integer ranges, never-shown shapes
    redaction.py    audit_safe_params() and sensitive_members(): CloudTrail-style
                    requestParameters without secrets (spec §11)

Choices the spec leaves open are documented in compiler.py and messages.py and pinned
by tests.
"""

from __future__ import annotations

from trent.protocol.validation.catalog import declared_errors, operation_names
from trent.protocol.validation.compiler import Check
from trent.protocol.validation.messages import format_validation_errors
from trent.protocol.validation.redaction import (
    Redact,
    audit_safe_params,
    sensitive_members,
)
from trent.protocol.validation.validator import compile_all, validate

__all__ = [
    "Check",
    "Redact",
    "audit_safe_params",
    "compile_all",
    "declared_errors",
    "format_validation_errors",
    "operation_names",
    "sensitive_members",
    "validate",
]
