"""``trent authz explain``: why a principal is (or is not) allowed an action (issue 5).

Two ways to ask:

- ``--endpoint-url URL``: the running server's ``POST /_trent/authz/explain``, signed
  with SigV4 by the usual AWS credentials (env, profile); the server checks that the
  caller may see the answer (service/explain.py);
- otherwise the database directly, like ``trent admin`` (``--data-dir``/``--database-url``,
  ``--dev``): an operator with the database needs no further permission.

Prints the explanation as JSON; exits 0 when the action would be allowed, 3 when denied.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from typing import Any

EXIT_DENIED = 3


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} takes KEY=VALUE, not {item!r}")
        out[key] = value
    return out


def _body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"Principal": args.principal, "Action": args.action}
    if args.key_id:
        body["KeyId"] = args.key_id
    if args.context:
        body["EncryptionContext"] = _pairs(args.context, "--context")
    if args.condition:
        body["ConditionKeys"] = _pairs(args.condition, "--condition")
    if args.source_ip:
        body["SourceIp"] = args.source_ip
    if args.grant_token:
        body["GrantTokens"] = list(args.grant_token)
    if args.region:
        body["Region"] = args.region
    return body


def _remote(args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any]:
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise ValueError("no AWS credentials found to sign the explain request")
    url = args.endpoint_url.rstrip("/") + "/_trent/authz/explain"
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials, "kms", region).add_auth(request)
    http = urllib.request.Request(url, data=data, headers=dict(request.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        payload = json.loads(exc.read() or b"{}")
        raise ValueError(f"{payload.get('__type', exc.code)}: {payload.get('message') or payload.get('Message')}")


def _local(args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any]:
    from trent.cli.main import _admin_deps
    from trent.protocol.explain_endpoint import parse_query
    from trent.protocol.pipeline import partition_for
    from trent.service import explain

    region = args.region or "us-east-1"
    deps = _admin_deps(args)
    try:
        query = parse_query(json.dumps(body).encode(), region, partition_for(region))
        return explain.explain(deps, query, deps.clock.now()).to_json()
    finally:
        deps.storage.close()


def cmd_explain(args: argparse.Namespace) -> int:
    body = _body(args)
    answer = _remote(args, body) if args.endpoint_url else _local(args, body)
    print(json.dumps(answer, indent=2))
    return 0 if answer.get("decision", {}).get("effect") == "Allow" else EXIT_DENIED


def register(subparsers: Any, add_storage_options: Any) -> None:
    authz = subparsers.add_parser("authz", help="authorization tools")
    authz_sub = authz.add_subparsers(dest="authz_command", required=True)
    p = authz_sub.add_parser(
        "explain",
        help="why a principal is or is not allowed an action (exit 0 allowed, 3 denied)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--principal", required=True, help="principal ARN (user, account root or assumed-role session)")
    p.add_argument("--action", required=True, help="kms:<Operation>, e.g. kms:Decrypt, kms:ReEncryptFrom")
    p.add_argument("--key-id", help="key id, key ARN, alias name or alias ARN (omit for IAM-only actions)")
    p.add_argument("--region", help="the key's Region (default: AWS_REGION or us-east-1)")
    p.add_argument("--context", action="append", metavar="KEY=VALUE", help="encryption context pair (repeatable)")
    p.add_argument("--condition", action="append", metavar="KEY=VALUE",
                   help="another condition key of the request, e.g. kms:ViaService=s3.us-east-1.amazonaws.com")
    p.add_argument("--source-ip", help="aws:SourceIp of the request")
    p.add_argument("--grant-token", action="append", help="a grant token the request carries (repeatable)")
    p.add_argument("--endpoint-url", help="ask this running server (SigV4-signed) instead of the database")
    add_storage_options(p)
    p.set_defaults(func=cmd_explain)
