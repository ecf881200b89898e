"""S3's XML documents (REST-XML, namespace ``http://s3.amazonaws.com/doc/2006-03-01/``).

Elements are written from (name, value) trees: a value that is a list of pairs becomes
nested elements, None is omitted, booleans are ``true``/``false``; text is XML-escaped.
``url_encoded`` applies ListObjects' ``encoding-type=url`` to the members it covers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_CONTENT_TYPE = b"application/xml"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

Tree = Sequence[tuple[str, Any]]


def _elements(fields: Tree) -> str:
    out: list[str] = []
    for name, value in fields:
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out.append(f"<{name}>{_elements(value)}</{name}>")
            continue
        else:
            text = escape(str(value))
        out.append(f"<{name}>{text}</{name}>")
    return "".join(out)


def document(root: str, fields: Tree, *, namespace: bool = True) -> bytes:
    xmlns = f' xmlns="{NAMESPACE}"' if namespace else ""
    return (DECLARATION + f"<{root}{xmlns}>{_elements(fields)}</{root}>").encode("utf-8")


def iso_millis(epoch: float) -> str:
    """ListObjects' LastModified: ``2009-10-12T17:50:30.000Z``."""
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((epoch - whole) * 1000):03d}Z"


def url_encoded(value: str | None, encode: bool) -> str | None:
    if value is None or not encode:
        return value
    return quote(value, safe="/")
