"""Typed settings, loaded once from flags and environment, validated at start."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from trent.domain.principals import ACCOUNT_ID_RE

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_DATA_DIR = Path(".trent")
DEFAULT_DEV_ACCOUNT_ID = "123456789012"
DEV_ACCESS_KEY_ID = "test"
DEV_SECRET_ACCESS_KEY = "test"  # well known on purpose: --dev only
DEV_USER_NAME = "dev"
# S3 content kept in a row is read whole with the row (GET, listings): bounded
MAX_S3_INLINE_BYTES = 64 * 1024


# CloudTrail's trail name rule: letters, digits, periods, underscores, dashes; 3-128.
_TRAIL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$")
# S3 bucket names (general purpose, path-style): 3-63 lowercase letters, digits, '.', '-'.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    dev: bool = False
    permissive: bool = False
    database_url: str | None = None
    dev_account_id: str = DEFAULT_DEV_ACCOUNT_ID
    regions: frozenset[str] | None = None
    # Issue 16: the audit trail lives in the database (chained, transactional); this is an
    # optional JSON-lines copy of committed events, for log shippers.
    audit_log: Path | None = None
    audit_fsync: bool = False
    # The trail (one per account and region): its name, and where events without an
    # account (failed authentication) are recorded.
    audit_trail_name: str = "trent"
    audit_account_id: str | None = None  # default: the --dev account id
    audit_home_region: str | None = None  # default: the first of --regions, else us-east-1
    # Delivery to a bucket in CloudTrail's layout: log files every delivery interval,
    # signed digests every digest interval; the bucket is a directory (file://) or an
    # S3-compatible bucket (s3://NAME, optionally at another endpoint).
    audit_bucket: str = "trent-audit-logs"
    audit_bucket_url: str | None = None  # default file://<data-dir>/audit-buckets/<bucket>
    audit_s3_endpoint_url: str | None = None
    audit_key_prefix: str | None = None
    audit_delivery_interval_seconds: float = 300.0
    audit_digest_interval_seconds: float = 3600.0
    audit_retention_days: float = 90.0
    audit_lookup_rate: float = 10.0  # LookupEvents/s per account and region (AWS: 2); 0 = unlimited
    root_key_file: Path | None = None
    max_body_bytes: int = 1 << 20
    sweep_interval_seconds: float = 5.0
    # Issue 17: a replaced/deleted S3 object's blob is unlinked this long after (blob_reaper.py).
    s3_blob_grace_seconds: float = 3600.0
    # Issue 17: single-part S3 objects up to this size keep their ciphertext in their row,
    # not in the object store (service/s3/content.py); 0: all in the object store.
    s3_inline_max_bytes: int = 4096
    cache_ttl_seconds: float = 1.0  # issue 20: only while the invalidation feed is down
    cache_ttl_with_feed_seconds: float = 300.0  # while it is up: every write is announced
    worker_threads: int = 8  # management calls (database writes) run on these
    http_server: str = "trent"  # "trent" (built-in HTTP/1.1) or "uvicorn" (the ASGI app)
    log_level: str = "warning"
    # PKCS#11 tokens for custom key stores (issue 7): "CLUSTER_ID=MODULE:token=LABEL"
    # or "CLUSTER_ID=MODULE:slot=N"; CloudHsmClusterId names the token.
    hsm_clusters: tuple[str, ...] = ()
    # Root of trust (issue 7): "file" (--root-key-file; the --dev default), "sealed"
    # (Shamir shares, `trent init` / `trent unseal`) or "hsm" (a key inside a PKCS#11 token).
    root_mode: str = "file"
    hsm_root: str | None = None  # "MODULE:token=LABEL" or "MODULE:slot=N"
    hsm_root_pin_file: Path | None = None  # or TRENT_HSM_ROOT_PIN
    # Issue 5: a seed file (accounts, users, roles, policies) applied at start, at unseal
    # and after a --dev reset (service/seed.py).
    seed_file: Path | None = None
    # Issue 21: the web console under /console; its sessions' absolute and idle lifetimes.
    console: bool = True
    console_session_seconds: float = 3600.0
    console_idle_seconds: float = 900.0
    # Issue 20: worker processes sharing the port (SO_REUSEPORT), the database and the root.
    workers: int = 1
    # Issue 20: TLS (PEM files, reloaded on SIGHUP); outside --dev plain HTTP is refused
    # unless --insecure-http, or it comes from a --trusted-proxy (a TLS terminator).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure_http: bool = False
    trusted_proxies: tuple[str, ...] = ()
    # Issue 20: "aws" (AWS KMS's default request quotas), "off", or a JSON file of overrides;
    # None = aws in production, off in --dev (service/quotas.py).
    request_quotas: str | None = None
    # Issue 20, operations: log line format, one access-log line per request, and how long
    # SIGTERM waits for requests already read before cutting them off.
    log_format: str = "text"
    access_log: bool = True
    metrics: bool = True  # /metrics and its per-request counting (TRENT_METRICS=0: off, for A/B benchmarks)
    shutdown_timeout_seconds: float = 30.0
    # Issue 17: where S3 object content lives (ciphertext only): file://DIR (default
    # <data-dir>/objects) or s3://ENDPOINT/BUCKET[/PREFIX] (s3+http:// for plain HTTP);
    # and the domain whose subdomains name buckets (virtual-hosted-style addressing).
    object_store: str | None = None
    s3_domain: str | None = None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'trent.db').resolve()}"

    @property
    def effective_audit_bucket(self) -> str:
        """The bucket name digests and the S3 API use: an s3:// URL's bucket, else --audit-bucket."""
        url = self.audit_bucket_url or ""
        return url.removeprefix("s3://").split("/", 1)[0] if url.startswith("s3://") else self.audit_bucket

    @property
    def effective_audit_bucket_url(self) -> str:
        return self.audit_bucket_url or f"file://{(self.data_dir / 'audit-buckets' / self.audit_bucket).resolve()}"

    @property
    def effective_audit_account_id(self) -> str:
        return self.audit_account_id or self.dev_account_id

    @property
    def effective_audit_home_region(self) -> str:
        if self.audit_home_region:
            return self.audit_home_region
        return min(self.regions) if self.regions else "us-east-1"

    @property
    def effective_object_store(self) -> str:
        return self.object_store or f"file://{(self.data_dir / 'objects').resolve()}"

    @property
    def effective_root_key_file(self) -> Path:
        return self.root_key_file or self.data_dir / "root.key"

    def validate(self) -> Settings:
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is out of range")
        if not ACCOUNT_ID_RE.match(self.dev_account_id):
            raise ConfigError(f"dev account id {self.dev_account_id!r} must be 12 digits")
        if not ACCOUNT_ID_RE.match(self.effective_audit_account_id):
            raise ConfigError(f"audit account id {self.effective_audit_account_id!r} must be 12 digits")
        if not _BUCKET_RE.match(self.effective_audit_bucket):
            raise ConfigError(f"audit bucket {self.effective_audit_bucket!r} is not a valid S3 bucket name")
        if not self.effective_object_store.startswith(("file://", "s3://", "s3+http://", "s3+https://")):
            raise ConfigError("--object-store is file:///DIR or s3://ENDPOINT/BUCKET[/PREFIX] (s3+http:// for plain HTTP)")
        if not self.s3_blob_grace_seconds > 0:  # a racing GET must find the blob of the row it read
            raise ConfigError("TRENT_S3_BLOB_GRACE must be a positive number of seconds")
        if not 0 <= self.s3_inline_max_bytes <= MAX_S3_INLINE_BYTES:
            raise ConfigError(f"TRENT_S3_INLINE_MAX must be 0 to {MAX_S3_INLINE_BYTES} bytes")
        if not self.effective_audit_bucket_url.startswith(("file://", "s3://")):
            raise ConfigError("--audit-bucket-url is file:///DIR or s3://BUCKET")
        if self.audit_key_prefix is not None and (not self.audit_key_prefix or self.audit_key_prefix.endswith("/")):
            raise ConfigError("--audit-key-prefix must not be empty or end with '/'")
        for name in ("audit_delivery_interval_seconds", "audit_digest_interval_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name.removesuffix('_seconds').replace('_', '-')} must be positive")
        if self.audit_retention_days < 0:
            raise ConfigError("--audit-retention-days must not be negative (0 keeps every event)")
        if not _TRAIL_NAME_RE.match(self.audit_trail_name):
            raise ConfigError(f"trail name {self.audit_trail_name!r}: 3-128 letters, digits, '.', '-', '_'")
        if self.http_server not in ("trent", "uvicorn"):
            raise ConfigError(f"unknown --http-server {self.http_server!r} (trent or uvicorn)")
        if self.permissive and not self.dev:
            raise ConfigError("--permissive is a --dev option")
        if self.root_mode not in ("file", "sealed", "hsm"):
            raise ConfigError(f"unknown --root {self.root_mode!r} (file, sealed or hsm)")
        if self.root_mode == "sealed" and self.http_server != "trent":
            raise ConfigError("--root sealed needs the built-in HTTP server (it serves /_trent/unseal)")
        if not (0 < self.console_idle_seconds and 0 < self.console_session_seconds <= 43_200):
            raise ConfigError("console session lifetimes must be positive, at most 12 hours")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("--tls-cert and --tls-key go together")
        if not self.dev and self.tls_cert is None and not self.insecure_http and not self.trusted_proxies:
            raise ConfigError(
                "production mode serves HTTPS: give --tls-cert and --tls-key, or --trusted-proxy CIDR for a "
                "TLS-terminating proxy in front, or --insecure-http to accept plain HTTP"
            )
        for cidr in self.trusted_proxies:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ConfigError(f"--trusted-proxy {cidr!r} is not an address or CIDR network") from None
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"unknown --log-format {self.log_format!r} (text or json)")
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1 (or auto), not {self.workers}")
        if self.workers > 1 and self.root_mode == "sealed":
            # Each worker would hold its own unseal progress; unseal a single worker.
            raise ConfigError("--root sealed serves one worker process: use --workers 1")
        if self.root_mode == "hsm" and not self.hsm_root:
            raise ConfigError("--root hsm needs --hsm-root MODULE:token=LABEL")
        if not self.dev and self.root_mode == "file" and self.root_key_file is None:
            raise ConfigError(
                "production mode needs a root of trust: give --root-key-file, or --root sealed (after `trent init`) or --root hsm"
            )
        return self


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | float | int) -> float:
    """'400d', '12h', '30m', '45s' or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(value)
        if m is None:
            raise ValueError(f"not a duration: {value!r} (use e.g. 400d, 12h, 30m, 45s)")
        seconds = float(m[1]) * _UNIT_SECONDS[m[2]]
    if seconds < 0:
        raise ValueError("durations are not negative")
    return seconds


def parse_workers(value: str) -> int:
    """``--workers``: a count, or ``auto`` for one per CPU the process may run on."""
    if value.strip().lower() == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"--workers takes a number or auto, not {value!r}") from None


def _env_bool(name: str) -> bool | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_defaults() -> dict[str, object]:
    """TRENT_* environment variables, as keyword arguments for :class:`Settings`."""
    env = os.environ
    out: dict[str, object] = {}
    if "TRENT_HOST" in env:
        out["host"] = env["TRENT_HOST"]
    if "TRENT_PORT" in env:
        out["port"] = int(env["TRENT_PORT"])
    if "TRENT_DATA_DIR" in env:
        out["data_dir"] = Path(env["TRENT_DATA_DIR"])
    if "TRENT_DATABASE_URL" in env:
        out["database_url"] = env["TRENT_DATABASE_URL"]
    if "TRENT_DEV_ACCOUNT_ID" in env:
        out["dev_account_id"] = env["TRENT_DEV_ACCOUNT_ID"]
    if "TRENT_REGIONS" in env:
        out["regions"] = frozenset(r.strip() for r in env["TRENT_REGIONS"].split(",") if r.strip())
    if "TRENT_AUDIT_LOG" in env:
        out["audit_log"] = Path(env["TRENT_AUDIT_LOG"])
    if "TRENT_ROOT_MODE" in env:
        out["root_mode"] = env["TRENT_ROOT_MODE"]
    if "TRENT_HSM_ROOT" in env:
        out["hsm_root"] = env["TRENT_HSM_ROOT"]
    if "TRENT_HSM_ROOT_PIN_FILE" in env:
        out["hsm_root_pin_file"] = Path(env["TRENT_HSM_ROOT_PIN_FILE"])
    if "TRENT_HSM_CLUSTERS" in env:
        out["hsm_clusters"] = tuple(c.strip() for c in env["TRENT_HSM_CLUSTERS"].split(",") if c.strip())
    if "TRENT_ROOT_KEY_FILE" in env:
        out["root_key_file"] = Path(env["TRENT_ROOT_KEY_FILE"])
    for var, key in (("TRENT_AUDIT_BUCKET", "audit_bucket"), ("TRENT_AUDIT_BUCKET_URL", "audit_bucket_url"),
                     ("TRENT_AUDIT_S3_ENDPOINT_URL", "audit_s3_endpoint_url"),
                     ("TRENT_AUDIT_KEY_PREFIX", "audit_key_prefix"), ("TRENT_AUDIT_TRAIL_NAME", "audit_trail_name"),
                     ("TRENT_AUDIT_ACCOUNT_ID", "audit_account_id"), ("TRENT_AUDIT_HOME_REGION", "audit_home_region")):
        if env.get(var):
            out[key] = env[var]
    for var, key in (("TRENT_AUDIT_DELIVERY_INTERVAL", "audit_delivery_interval_seconds"),
                     ("TRENT_AUDIT_DIGEST_INTERVAL", "audit_digest_interval_seconds"),
                     ("TRENT_AUDIT_RETENTION_DAYS", "audit_retention_days"),
                     ("TRENT_AUDIT_LOOKUP_RATE", "audit_lookup_rate")):
        if env.get(var):
            plain = key in ("audit_retention_days", "audit_lookup_rate")
            out[key] = float(env[var]) if plain else parse_duration(env[var])


    if "TRENT_TLS_CERT" in env:
        out["tls_cert"] = Path(env["TRENT_TLS_CERT"])
    if "TRENT_TLS_KEY" in env:
        out["tls_key"] = Path(env["TRENT_TLS_KEY"])
    if "TRENT_TRUSTED_PROXIES" in env:
        out["trusted_proxies"] = tuple(c.strip() for c in env["TRENT_TRUSTED_PROXIES"].split(",") if c.strip())
    if "TRENT_LOG_FORMAT" in env:
        out["log_format"] = env["TRENT_LOG_FORMAT"]
    if "TRENT_SHUTDOWN_TIMEOUT" in env:
        out["shutdown_timeout_seconds"] = float(env["TRENT_SHUTDOWN_TIMEOUT"])
    if env.get("TRENT_ACCESS_LOG", "").strip().lower() in ("0", "false", "no", "off"):
        out["access_log"] = False
    if env.get("TRENT_METRICS", "").strip().lower() in ("0", "false", "no", "off"):
        out["metrics"] = False
    if env.get("TRENT_OBJECT_STORE"):
        out["object_store"] = env["TRENT_OBJECT_STORE"]
    if env.get("TRENT_S3_DOMAIN"):
        out["s3_domain"] = env["TRENT_S3_DOMAIN"]
    if "TRENT_REQUEST_QUOTAS" in env:
        out["request_quotas"] = env["TRENT_REQUEST_QUOTAS"]
    if "TRENT_SWEEP_INTERVAL" in env:
        out["sweep_interval_seconds"] = float(env["TRENT_SWEEP_INTERVAL"])
    if "TRENT_S3_BLOB_GRACE" in env:
        out["s3_blob_grace_seconds"] = float(env["TRENT_S3_BLOB_GRACE"])
    if "TRENT_S3_INLINE_MAX" in env:
        out["s3_inline_max_bytes"] = int(env["TRENT_S3_INLINE_MAX"])
    if "TRENT_WORKERS" in env:
        out["workers"] = parse_workers(env["TRENT_WORKERS"])
    if env.get("TRENT_SEED"):
        out["seed_file"] = Path(env["TRENT_SEED"])
    for name, key in (("TRENT_CONSOLE_SESSION_SECONDS", "console_session_seconds"),
                      ("TRENT_CONSOLE_IDLE_SECONDS", "console_idle_seconds")):
        if env.get(name):
            out[key] = float(env[name])
    for name, key in (("TRENT_DEV", "dev"), ("TRENT_PERMISSIVE", "permissive"), ("TRENT_AUDIT_FSYNC", "audit_fsync"),
                      ("TRENT_CONSOLE", "console"), ("TRENT_INSECURE_HTTP", "insecure_http")):
        flag = _env_bool(name)
        if flag is not None:
            out[key] = flag
    return out
