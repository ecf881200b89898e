"""Typed settings, loaded once from flags and environment, validated at start."""

from __future__ import annotations

import ipaddress
import os
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
    audit_log: Path | None = None
    audit_fsync: bool = False
    root_key_file: Path | None = None
    max_body_bytes: int = 1 << 20
    sweep_interval_seconds: float = 5.0
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

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'trent.db').resolve()}"

    @property
    def effective_audit_log(self) -> Path:
        return self.audit_log or self.data_dir / "audit.jsonl"

    @property
    def effective_root_key_file(self) -> Path:
        return self.root_key_file or self.data_dir / "root.key"

    def validate(self) -> Settings:
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is out of range")
        if not ACCOUNT_ID_RE.match(self.dev_account_id):
            raise ConfigError(f"dev account id {self.dev_account_id!r} must be 12 digits")
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
    if "TRENT_REQUEST_QUOTAS" in env:
        out["request_quotas"] = env["TRENT_REQUEST_QUOTAS"]
    if "TRENT_SWEEP_INTERVAL" in env:
        out["sweep_interval_seconds"] = float(env["TRENT_SWEEP_INTERVAL"])
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
