"""``trent audit verify | lookup | tail | rotate-signing-key`` (issue 16 §4).

They read the trail where it lives: the database (``--data-dir`` / ``--database-url``,
like ``trent admin``) and the bucket (``--dir`` for a file bucket, ``--bucket-url``
for file:// or s3://; default the data dir's). ``verify`` needs no secret: the digest
signing keys' public halves are in the database, or come from a server's
ListPublicKeys (``--endpoint-url``) when only the bucket is at hand.

Exit status: ``verify`` 0 when everything checks, 1 on any problem (each printed on its
own line, naming the file or the trail and the event), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import calendar
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from trent.config import Settings, env_defaults

EXIT_PROBLEMS = 1


def _time(text: str) -> float:
    """``2026-01-01T00:00:00Z`` (or without seconds / Z, or an epoch number) -> epoch."""
    try:
        return float(text)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d"):
        try:
            return float(calendar.timegm(time.strptime(text, fmt)))
        except ValueError:
            continue
    raise ValueError(f"not a time: {text!r} (use e.g. 2026-01-01T00:00:00Z)")


def _settings(args: argparse.Namespace) -> Settings:
    base = Settings(**env_defaults())  # type: ignore[arg-type]
    changes: dict[str, object] = {}
    for name in ("data_dir", "database_url", "audit_bucket", "audit_bucket_url", "audit_key_prefix",
                 "audit_s3_endpoint_url", "root_key_file"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "dir", None) is not None:
        changes["audit_bucket_url"] = f"file://{Path(args.dir).resolve()}"
    return replace(base, **changes)  # type: ignore[arg-type]


def _storage(settings: Settings):
    from trent.storage.sql import SqlStorage

    url = settings.effective_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise ValueError(f"no database at {url} (give --data-dir or --database-url)")
    return SqlStorage(url)


def _public_keys_from(endpoint_url: str) -> dict[str, bytes]:
    import boto3

    client = boto3.client("cloudtrail", endpoint_url=endpoint_url)
    return {k["Fingerprint"]: bytes(k["Value"]) for k in client.list_public_keys()["PublicKeyList"]}


def cmd_verify(args: argparse.Namespace) -> int:
    from trent.bootstrap_audit import open_bucket
    from trent.service.audit_verify import VerifyScope, verify

    settings = _settings(args)
    use_database = args.database_url is not None or args.data_dir is not None or args.dir is None
    storage = _storage(settings) if use_database and not args.no_database else None
    try:
        if storage is not None:
            public_keys = {k.fingerprint: k.public_der for k in storage.signing_keys()}
        elif args.endpoint_url:
            public_keys = _public_keys_from(args.endpoint_url)
        else:
            raise ValueError("no public keys to check signatures with: give --data-dir/--database-url or --endpoint-url")
        scope = VerifyScope(settings.effective_audit_bucket, settings.audit_key_prefix,
                            _time(args.start_time) if args.start_time else None,
                            _time(args.end_time) if args.end_time else None)
        started = time.perf_counter()
        report = verify(open_bucket(settings), scope, public_keys, storage, jobs=args.jobs)
        elapsed = time.perf_counter() - started
    finally:
        if storage is not None:
            storage.close()
    for problem in report.problems:
        print(problem.line(scope.bucket))
    if report.problems:
        print()
    if report.found_start:
        print(f"Results found for {report.found_start} to {report.found_end}:")
    _ratio(report.digests_valid, report.digests_invalid, "digest")
    _ratio(report.logs_valid, report.logs_invalid, "log")
    print(f"{report.file_events} events re-hashed from log files, {report.database_events} from the database "
          f"({report.trails} trail{'s' if report.trails != 1 else ''}, {elapsed:.2f} s)")
    print("OK: no problems found" if report.ok else f"{len(report.problems)} problem(s) found")
    return 0 if report.ok else EXIT_PROBLEMS


def _ratio(valid: int, invalid: int, name: str) -> None:
    total = valid + invalid
    line = f"{valid}/{total} {name} files valid"
    print(line + (f", {invalid}/{total} {name} files INVALID" if invalid else ""))


def _rows(storage: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from trent.domain.audit_delivery import LookupAttribute, LookupQuery

    attribute = value = None
    if args.lookup_attribute:
        key, sep, value = args.lookup_attribute.partition("=")
        if not sep:
            raise ValueError("--lookup-attribute takes KEY=VALUE, e.g. EventName=CreateKey")
        attribute = LookupAttribute(key)
    end = _time(args.end_time) if args.end_time else time.time() + 86_400 * 365 * 10
    start = _time(args.start_time) if args.start_time else 0.0
    query = LookupQuery(args.account_id, args.region, start, end, args.max_results, attribute, value)
    events, _ = storage.lookup_audit_events(query)
    return [orjson.loads(e.body) for e in events]


def _table(events: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("time", "event", "source", "user", "resources", "error", "request id"):
        table.add_column(column, overflow="fold")
    for e in events:
        identity = e.get("userIdentity") or {}
        table.add_row(
            e.get("eventTime", ""), e.get("eventName", ""), str(e.get("eventSource", "")).removesuffix(".amazonaws.com"),
            identity.get("userName") or identity.get("arn") or identity.get("invokedBy") or "",
            "\n".join(r.get("ARN", "") for r in e.get("resources") or ()),
            e.get("errorCode", ""), e.get("requestID", ""),
        )
    Console().print(table)


def cmd_lookup(args: argparse.Namespace) -> int:
    storage = _storage(_settings(args))
    try:
        events = _rows(storage, args)
    finally:
        storage.close()
    if args.json:
        for event in events:
            print(orjson.dumps(event).decode())
    else:
        _table(events, f"{args.account_id} {args.region}: {len(events)} events, newest first")
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    from trent.domain.audit_chain import TrailKey

    storage = _storage(_settings(args))
    trail = TrailKey(args.account_id, args.region)
    try:
        head = storage.get_trail_head(trail)
        last = max(0, (head.last_sequence if head else 0) - args.lines)
        while True:
            events = storage.read_audit_events(trail, last, 1000)
            for event in events:
                body = orjson.loads(event.body)
                if args.json:
                    print(orjson.dumps(body).decode())
                else:
                    identity = body.get("userIdentity") or {}
                    who = identity.get("userName") or identity.get("arn") or identity.get("invokedBy") or "-"
                    error = f" {body['errorCode']}" if body.get("errorCode") else ""
                    print(f"{event.sequence:>8} {body.get('eventTime')} {body.get('eventName')} "
                          f"{who} {body.get('sourceIPAddress')}{error}")
                last = event.sequence
            sys.stdout.flush()
            if not args.follow:
                return 0
            if not events:
                time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    finally:
        storage.close()


def cmd_rotate(args: argparse.Namespace) -> int:
    from trent.bootstrap import build_deps
    from trent.bootstrap_audit import digest_signer
    from trent.service import audit_signing_keys

    settings = _settings(args)
    if args.dev:
        settings = replace(settings, dev=True)
    deps = build_deps(settings)
    try:
        key = audit_signing_keys.rotate(deps.storage, digest_signer(deps.root_key), deps.clock.now())
    finally:
        deps.storage.close()
    print(orjson.dumps({"Fingerprint": key.fingerprint, "ValidityStartTime": key.valid_from}).decode())
    return 0


def register(sub: argparse._SubParsersAction, add_storage_options: Any) -> None:
    audit = sub.add_parser("audit", help="verify, search and follow the audit trail (issue 16)")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)

    def where(p: argparse.ArgumentParser, bucket: bool) -> None:
        p.add_argument("--data-dir", type=Path, help="the server's data dir (database, default bucket)")
        p.add_argument("--database-url", help="the server's database (default SQLite in the data dir)")
        if bucket:
            p.add_argument("--dir", help="a file bucket's directory (bucket only, unless --data-dir/--database-url)")
            p.add_argument("--bucket-url", dest="audit_bucket_url", help="file:///DIR or s3://BUCKET")
            p.add_argument("--bucket", dest="audit_bucket", help="the bucket name digests carry (default "
                           "trent-audit-logs)")
            p.add_argument("--key-prefix", dest="audit_key_prefix", help="the trail's S3KeyPrefix, if any")
            p.add_argument("--s3-endpoint-url", dest="audit_s3_endpoint_url", help="for s3:// buckets")

    verify = audit_sub.add_parser("verify", help="check digests, log files, the event chain and the database")
    where(verify, bucket=True)
    verify.add_argument("--endpoint-url", help="take public keys from this server's ListPublicKeys")
    verify.add_argument("--no-database", action="store_true", help="check the bucket only")
    verify.add_argument("--start-time", help="digests ending at or after, e.g. 2026-01-01T00:00:00Z")
    verify.add_argument("--end-time", help="digests ending before (plus one hour, as validate-logs)")
    verify.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes checking log files (default: one per CPU)")
    verify.set_defaults(func=cmd_verify)

    for name, func, text in (("lookup", cmd_lookup, "search events like LookupEvents"),
                             ("tail", cmd_tail, "the newest events; -f follows")):
        p = audit_sub.add_parser(name, help=text)
        where(p, bucket=False)
        p.add_argument("--account-id", default="123456789012", help="whose trail (default the dev account)")
        p.add_argument("--region", default="us-east-1")
        p.add_argument("--json", action="store_true", help="one event JSON per line")
        if name == "lookup":
            p.add_argument("--lookup-attribute", help="KEY=VALUE, KEY one of EventId, EventName, ReadOnly, "
                           "Username, ResourceType, ResourceName, EventSource, AccessKeyId")
            p.add_argument("--start-time")
            p.add_argument("--end-time")
            p.add_argument("--max-results", type=int, default=50)
        else:
            p.add_argument("-f", "--follow", action="store_true")
            p.add_argument("-n", "--lines", type=int, default=20)
            p.add_argument("--interval", type=float, default=0.5, help="seconds between polls with -f")
        p.set_defaults(func=func)

    rotate = audit_sub.add_parser("rotate-signing-key", help="a new digest signing key (old ones stay listed)")
    add_storage_options(rotate)
    rotate.set_defaults(func=cmd_rotate)
