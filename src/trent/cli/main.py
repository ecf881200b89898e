"""`trent` command line: serve | admin ... | dev ... | encrypt | decrypt."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from trent import __version__
from trent.cli import audit as audit_cli
from trent.cli import authz as authz_cli
from trent.cli import admin as admin_iam
from trent.cli import backup as backup_cli
from trent.cli import envelope, root
from trent.cli import s3 as s3_cli

try:
    import uvloop
except ImportError:  # uvloop has no Windows build; asyncio's loop works, slower
    uvloop = None  # type: ignore[assignment]
from trent.config import DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, ConfigError, Settings, env_defaults, parse_workers
from trent.cli.workers import WorkerContext
from trent.errors import TrentError


def _settings(args: argparse.Namespace) -> Settings:
    base = Settings(**env_defaults())  # type: ignore[arg-type]
    changes: dict[str, object] = {}
    for name in ("host", "port", "data_dir", "database_url", "dev_account_id", "audit_log", "root_key_file", "http_server",
                 "root_mode", "hsm_root", "hsm_root_pin_file", "seed_file", "tls_cert", "tls_key", "request_quotas",
                 "object_store", "s3_domain", *AUDIT_SETTINGS):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "dev", False):
        changes["dev"] = True
    if getattr(args, "permissive", False):
        changes["permissive"] = True
    if getattr(args, "audit_fsync", False):
        changes["audit_fsync"] = True
    if getattr(args, "log_format", None):
        changes["log_format"] = args.log_format
    if getattr(args, "no_access_log", False):
        changes["access_log"] = False
    if getattr(args, "shutdown_timeout", None) is not None:
        changes["shutdown_timeout_seconds"] = args.shutdown_timeout
    if getattr(args, "insecure_http", False):
        changes["insecure_http"] = True
    if getattr(args, "trusted_proxy", None):
        changes["trusted_proxies"] = tuple(args.trusted_proxy)
    if getattr(args, "workers", None) is not None:
        changes["workers"] = parse_workers(args.workers)
    if getattr(args, "hsm_cluster", None):
        changes["hsm_clusters"] = tuple(args.hsm_cluster)
    regions = getattr(args, "regions", None)
    if regions:
        changes["regions"] = frozenset(r.strip() for r in regions.split(",") if r.strip())
    return replace(base, **changes)  # type: ignore[arg-type]


# issue 16: `serve` flags of the audit trail (Settings field names)
AUDIT_SETTINGS = ("audit_trail_name", "audit_account_id", "audit_home_region", "audit_bucket", "audit_bucket_url",
                  "audit_s3_endpoint_url", "audit_key_prefix", "audit_delivery_interval_seconds",
                  "audit_digest_interval_seconds", "audit_retention_days", "audit_lookup_rate")


def _add_audit_options(serve: argparse.ArgumentParser) -> None:
    from trent.config import parse_duration

    g = serve.add_argument_group("audit trail (issue 16)")
    g.add_argument("--audit-trail-name", help="the trail's name (env TRENT_AUDIT_TRAIL_NAME; default trent)")
    g.add_argument("--audit-account-id", help="account whose trail records calls without one, e.g. failed "
                   "signatures (env TRENT_AUDIT_ACCOUNT_ID; default the --dev account id)")
    g.add_argument("--audit-home-region", help="region of that trail (default: first of --regions, else us-east-1)")
    g.add_argument("--audit-bucket", help="bucket name in digests and on the S3 API (env TRENT_AUDIT_BUCKET; "
                   "default trent-audit-logs)")
    g.add_argument("--audit-bucket-url", help="where the bucket lives: file:///DIR or s3://BUCKET "
                   "(env TRENT_AUDIT_BUCKET_URL; default file://<data-dir>/audit-buckets/<bucket>)")
    g.add_argument("--audit-s3-endpoint-url", help="endpoint of an S3-compatible service for s3:// buckets")
    g.add_argument("--audit-key-prefix", help="S3KeyPrefix for every log and digest key (default none)")
    g.add_argument("--audit-delivery-interval", dest="audit_delivery_interval_seconds", type=parse_duration,
                   help="deliver log files this often, e.g. 5m (env TRENT_AUDIT_DELIVERY_INTERVAL; default 5m)")
    g.add_argument("--audit-digest-interval", dest="audit_digest_interval_seconds", type=parse_duration,
                   help="sign a digest file this often, e.g. 1h (env TRENT_AUDIT_DIGEST_INTERVAL; default 1h)")
    g.add_argument("--audit-lookup-rate", type=float, help="LookupEvents per second per account and region, "
                   "0 = unlimited (env TRENT_AUDIT_LOOKUP_RATE; default 10; AWS allows 2)")
    g.add_argument("--audit-retention-days", type=float, help="keep delivered, digested events in the database "
                   "this many days, 0 = forever (env TRENT_AUDIT_RETENTION_DAYS; default 90)")


def _add_storage_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, help="where the database, root key and audit log live (env TRENT_DATA_DIR; default .trent)")
    p.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://... (env TRENT_DATABASE_URL; default SQLite in the data dir)")
    p.add_argument("--root-key-file", type=Path, help="root key file (env TRENT_ROOT_KEY_FILE; --dev default <data-dir>/root.key)")
    p.add_argument("--dev", action="store_true", help="development mode (env TRENT_DEV=1)")
    p.add_argument("--dev-account-id", help="the --dev account (env TRENT_DEV_ACCOUNT_ID; default 123456789012)")


def _configure_logging(settings: Settings) -> None:
    from trent.server.access_log import configure_logging

    configure_logging(settings.log_level, settings.log_format)


def cmd_serve(args: argparse.Namespace) -> int:
    from trent.bootstrap import build, prepare

    settings = _settings(args).validate()
    _configure_logging(settings)
    if settings.workers > 1:
        from trent.cli.workers import Supervisor

        prepare(settings)  # migrations, the --dev identity, the seed: once, before the workers
        _print_banner(settings)
        return Supervisor(settings, serve_worker).run()
    runtime = build(settings)
    _print_banner(settings)
    _serve(runtime, settings, reuse_port=False)
    return 0


def serve_worker(settings: Settings, worker: WorkerContext) -> None:
    """One of ``--workers N`` (runs in a spawned process; see cli/workers.py)."""
    from trent.bootstrap import build
    from trent.domain.clock import ControllableClock

    _configure_logging(settings)
    clock = ControllableClock(cell=worker.clock_offset, lock=worker.clock_lock) if settings.dev else None
    runtime = build(settings, clock)
    _serve(runtime, settings, reuse_port=True)


def _print_banner(settings: Settings) -> None:
    endpoint = f"{'https' if settings.tls_cert else 'http'}://{settings.host}:{settings.port}"
    print(f"Trent {__version__} {'(dev mode) ' if settings.dev else ''}serving the AWS KMS API at {endpoint}")
    print(f"  data dir:   {settings.data_dir.resolve()}")
    print(f"  database:   {settings.effective_database_url.split('@')[-1]}")
    print(f"  audit:      trail {settings.audit_trail_name!r} in the database"
          + (f" (JSON-lines copy: {settings.audit_log.resolve()})" if settings.audit_log else ""))
    if settings.seed_file is not None:
        print(f"  seed:       {settings.seed_file} (applied at start{', unseal' if settings.root_mode == 'sealed' else ''}"
              f"{' and after every reset' if settings.dev else ''})")
    if settings.root_mode == "sealed":
        print(f"  root:       SEALED: KMS calls are refused until `trent unseal --endpoint-url {endpoint}` gets enough shares")
    elif settings.root_mode == "hsm":
        print(f"  root:       inside the HSM ({settings.hsm_root})")
    if settings.dev:
        region = next(iter(sorted(settings.regions))) if settings.regions else "us-east-1"
        print(f"  account:    {settings.dev_account_id}")
        print(f"  region:     {region} (any region works; keys live per region)")
        print(f"  credentials: AWS_ACCESS_KEY_ID={DEV_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={DEV_SECRET_ACCESS_KEY}")
        print(f"  try:        aws --endpoint-url {endpoint} --region {region} kms create-key")
    if settings.workers > 1:
        print(f"  workers:    {settings.workers} processes sharing the port (SO_REUSEPORT)")
    sys.stdout.flush()


def _serve(runtime, settings: Settings, *, reuse_port: bool) -> None:
    from trent.server.gc_tuning import tune_collector
    from trent.server.malloc_tuning import tune_malloc
    from trent.server.tls import TlsFiles

    tune_malloc()  # before the server's threads start (server/malloc_tuning.py)
    tune_collector()  # the runtime is built: freeze it (server/gc_tuning.py)

    tls = TlsFiles(settings.tls_cert, settings.tls_key) if settings.tls_cert and settings.tls_key else None
    if settings.http_server == "uvicorn":
        _serve_uvicorn(runtime, settings, reuse_port, tls)
    else:
        from trent.server.http11 import serve

        runner = asyncio.run if uvloop is None else uvloop.run
        runner(serve(runtime.http, settings.host, settings.port, runtime.start, runtime.stop, reuse_port=reuse_port,
                     tls=tls, shutdown_timeout=settings.shutdown_timeout_seconds))


def _serve_uvicorn(runtime, settings: Settings, reuse_port: bool, tls) -> None:
    import signal
    import socket

    import uvicorn

    config = uvicorn.Config(
        runtime.app,
        host=settings.host,
        port=settings.port,
        loop="uvloop" if uvloop is not None else "asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=settings.log_level,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        ssl_certfile=str(settings.tls_cert) if tls is not None else None,
        ssl_keyfile=str(settings.tls_key) if tls is not None else None,
    )
    if tls is not None:
        # Our context (TLS 1.2+, reloadable) in place of the one uvicorn built from the files.
        config.load()
        config.ssl = tls.context
        signal.signal(signal.SIGHUP, lambda *_: tls.reload())
    if not reuse_port:
        uvicorn.Server(config).run()
        return
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.port))
    uvicorn.Server(config).run(sockets=[sock])


def _admin_deps(args: argparse.Namespace):
    from trent.bootstrap import build_deps

    settings = _settings(args)
    if not settings.dev and settings.root_key_file is None:
        raise ConfigError("give --root-key-file (or --dev for the dev data dir)")
    return build_deps(settings)


def cmd_admin(args: argparse.Namespace) -> int:
    from trent.domain.principals import Principal
    from trent.service import identity

    deps = _admin_deps(args)
    now = deps.clock.now()
    if args.admin_command == "create-account":
        account = identity.create_account(deps, args.account_id, args.name or args.account_id, now)
        print(json.dumps({"AccountId": account.account_id, "RootArn": Principal.root_arn(account.account_id)}))
    elif args.admin_command == "create-user":
        user = identity.create_user(deps, args.account_id, args.user_name)
        print(json.dumps({"Arn": user.arn, "UserId": user.principal_id}))
    elif args.admin_command == "create-access-key":
        arn = args.principal_arn or Principal.user_arn(args.account_id, args.user_name)
        creds = identity.create_access_key(deps, arn, now)
        # Printed once; only the wrapped form is stored.
        print(json.dumps({"AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key, "Principal": arn}))
    elif args.admin_command == "list-access-keys":
        arn = args.principal_arn or Principal.user_arn(args.account_id, args.user_name)
        for key in deps.storage.list_access_keys(arn):
            print(json.dumps({"AccessKeyId": key.access_key_id, "Status": str(key.status), "CreateDate": key.created_at}))
    elif args.admin_command == "delete-access-key":
        deps.storage.delete_access_key(args.access_key_id)
    elif args.admin_command == "list-accounts":
        for account in deps.storage.list_accounts():
            print(json.dumps({"AccountId": account.account_id, "Name": account.name}))
    elif args.admin_command in admin_iam.COMMANDS:
        admin_iam.run(deps, args)
    deps.storage.close()
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from trent.bootstrap import parse_duration

    url = args.endpoint_url.rstrip("/") + "/_trent/"
    if args.dev_command == "reset":
        request = urllib.request.Request(url + "reset", data=b"{}", method="POST")
    elif args.dev_command == "audit":
        request = urllib.request.Request(url + "audit/flush", data=b"{}", method="POST")
    elif args.clock_command == "advance":
        parse_duration(args.duration)  # fail here, not on the server
        body = json.dumps({"advance": args.duration}).encode()
        request = urllib.request.Request(url + "clock", data=body, method="POST")
    else:
        request = urllib.request.Request(url + "clock", method="GET")
    with urllib.request.urlopen(request, timeout=30) as response:
        print(response.read().decode())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trent", description="Trent: a self-hosted AWS-KMS-compatible key management service")
    parser.add_argument("--version", action="version", version=f"trent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the KMS server")
    serve.add_argument("--host", help="listen address (env TRENT_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (env TRENT_PORT; default 8080)")
    _add_storage_options(serve)
    serve.add_argument("--permissive", action="store_true", help="--dev: accept unknown access key ids without a signature check")
    serve.add_argument("--regions", help="comma list of regions to serve (env TRENT_REGIONS; default any)")
    serve.add_argument("--audit-log", type=Path,
                       help="also copy committed audit events to this JSON-lines file (env TRENT_AUDIT_LOG; default: none)")
    serve.add_argument("--audit-fsync", action="store_true", help="fsync the JSON-lines copy after every batch")
    serve.add_argument("--http-server", choices=("trent", "uvicorn"),
                       help="trent: built-in HTTP/1.1 with audit group commit (default); uvicorn: the ASGI app")
    serve.add_argument("--tls-cert", type=Path, metavar="PEM",
                       help="serve HTTPS with this certificate chain (env TRENT_TLS_CERT; reloaded on SIGHUP)")
    serve.add_argument("--tls-key", type=Path, metavar="PEM", help="the certificate's private key (env TRENT_TLS_KEY)")
    serve.add_argument("--insecure-http", action="store_true",
                       help="production: accept plain HTTP (env TRENT_INSECURE_HTTP=1; --dev always does)")
    serve.add_argument("--trusted-proxy", action="append", metavar="CIDR",
                       help="a TLS-terminating proxy: its X-Forwarded-Proto / X-Forwarded-For are believed "
                       "(repeatable; env TRENT_TRUSTED_PROXIES, comma-separated)")
    serve.add_argument("--request-quotas", metavar="aws|off|FILE.json",
                       help="per account and Region, like AWS KMS: aws = AWS's default quotas (production default), "
                       "off (--dev default), or a JSON file of overrides, e.g. {\"symmetric\": 20000} "
                       "(env TRENT_REQUEST_QUOTAS)")
    serve.add_argument("--log-format", choices=("text", "json"),
                       help="log lines as text (default) or one JSON object each (env TRENT_LOG_FORMAT)")
    serve.add_argument("--no-access-log", action="store_true",
                       help="no per-request log line (env TRENT_ACCESS_LOG=0); CloudTrail-shaped audit is separate")
    serve.add_argument("--shutdown-timeout", type=float, metavar="SECONDS",
                       help="on SIGTERM, how long requests already read may take (env TRENT_SHUTDOWN_TIMEOUT; default 30)")
    serve.add_argument("--workers", metavar="N|auto",
                       help="worker processes sharing the port (env TRENT_WORKERS; default 1; auto = one per CPU)")
    serve.add_argument("--hsm-cluster", action="append", metavar="ID=MODULE:token=LABEL",
                       help="a PKCS#11 token custom key stores can use, named by its CloudHsmClusterId "
                       "(repeatable; env TRENT_HSM_CLUSTERS, comma-separated)")
    root.add_serve_options(serve)
    _add_audit_options(serve)
    s3 = serve.add_argument_group("S3 with server-side encryption (issue 17)")
    s3.add_argument("--object-store", help="where object content (ciphertext only) lives: file:///DIR or "
                    "s3://ENDPOINT/BUCKET[/PREFIX], s3+http:// for a plain-HTTP backend (env TRENT_OBJECT_STORE; "
                    "default file://<data-dir>/objects)")
    s3.add_argument("--s3-domain", help="virtual-hosted-style addressing: BUCKET.<domain> names a bucket "
                    "(env TRENT_S3_DOMAIN; path-style always works)")
    serve.add_argument("--seed", dest="seed_file", type=Path, metavar="FILE.json",
                       help="apply a seed file (accounts, users, roles, policies; idempotent) at start, at unseal "
                       "and after a --dev reset (env TRENT_SEED)")
    serve.set_defaults(func=cmd_serve)

    admin = sub.add_parser("admin", help="manage accounts, users and access keys (works on the data dir / database)")
    _add_storage_options(admin)
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    p = admin_sub.add_parser("create-account")
    p.add_argument("account_id")
    p.add_argument("--name")
    p = admin_sub.add_parser("create-user")
    p.add_argument("account_id")
    p.add_argument("user_name")
    for name in ("create-access-key", "list-access-keys"):
        p = admin_sub.add_parser(name)
        p.add_argument("account_id", nargs="?")
        p.add_argument("user_name", nargs="?")
        p.add_argument("--principal-arn")
    p = admin_sub.add_parser("delete-access-key")
    p.add_argument("access_key_id")
    admin_sub.add_parser("list-accounts")
    root.register_admin(admin_sub)
    admin_iam.register(admin_sub)
    admin.set_defaults(func=cmd_admin)

    dev = sub.add_parser("dev", help="control a running --dev server")
    dev.add_argument("--endpoint-url", default="http://127.0.0.1:8080")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True)
    dev_sub.add_parser("reset", help="delete every key, alias and tag")
    dev_audit = dev_sub.add_parser("audit", help="the audit trail of a running --dev server")
    dev_audit_sub = dev_audit.add_subparsers(dest="audit_command", required=True)
    dev_audit_sub.add_parser("flush", help="deliver every pending event and sign a digest now")
    clock = dev_sub.add_parser("clock", help="show or move the server's clock")
    clock_sub = clock.add_subparsers(dest="clock_command", required=True)
    clock_sub.add_parser("show")
    advance = clock_sub.add_parser("advance", help="move time forward, e.g. 400d, 12h, 30m")
    advance.add_argument("duration")
    dev.set_defaults(func=cmd_dev)

    envelope.register(sub)
    s3_cli.register(sub)
    root.register(sub)
    backup_cli.register(sub, _add_storage_options, root.add_serve_options)
    authz_cli.register(sub, _add_storage_options)
    audit_cli.register(sub, _add_storage_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, TrentError, ValueError) as exc:
        print(f"trent: error: {exc}", file=sys.stderr)
        return 2
    except urllib.error.URLError as exc:
        print(f"trent: cannot reach the server: {exc.reason}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
