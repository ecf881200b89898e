"""Composition root: the only place that picks concrete backends and wires them.

    Settings -> clock, storage (SQL + cache), root key, key store, audit sink
             -> service deps -> KMS pipeline -> ASGI app (+ sweeper, dev controls)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from trent.audit.sink import AuditWriteError
from trent.bootstrap_audit import attach_front_doors, build_delivery, build_outbox
from trent.config import (
    DEV_ACCESS_KEY_ID,
    DEV_SECRET_ACCESS_KEY,
    DEV_USER_NAME,
    ConfigError,
    Settings,
    parse_duration,
)
from trent.errors import KMSInvalidState, TrentError
from trent.domain.clock import Clock, ControllableClock, SystemClock
from trent.domain.keys import Key
from trent.domain.principals import IdentityPolicy, Principal
from trent.domain.custom_key_stores import ConnectionState
from trent.keystores.base import KeyStoreError
from trent.keystores.hsm_root import HsmRootKey
from trent.keystores.roots import open_root
from trent.keystores.sealed import SealedRootKey, load_or_create_admin_token
from trent.keystores.software import SoftwareKeyStore
from trent.keystores.pkcs11 import parse_cluster
from trent.keystores.router import KeyStoreRouter
from trent.protocol.pipeline import AuthPolicy, KmsPipeline
from trent.protocol.transport import TransportPolicy, parse_networks
from trent.server.app import DevControls, TrentApp
from trent.server.console import Console, TrailAccess
from trent.server.access_log import AccessLog
from trent.server.http11 import HttpServer
from trent.server.metrics import Gauges, RequestMetrics
from trent.server.malloc_tuning import release_freed_memory
from trent.server.periodic import Periodic
from trent.server.root_controls import RootControls
from trent.service import custom_key_stores, identity, seed
from trent.service.audit_delivery import DeliveryReport, TrailDelivery
from trent.service.audit_outbox import AuditOutbox
from trent.service.s3.blob_reaper import BlobReaper
from trent.service.console_sign_in import SignInPolicy
from trent.service.deps import ServiceDeps
from trent.service.imports import expire_due_material
from trent.service.keys import delete_due_keys
from trent.service.quotas import RequestQuotas, load_limits
from trent.service.rotation import rotate_due_keys
from trent.service.usage import start_tracking
from trent.storage.cache import CachedStorage
from trent.storage.repositories import StorageError
from trent.storage.change_feed import listener_for
from trent.storage.engine import is_memory_sqlite, normalize_url
from trent.storage.leases import SqlLeases, new_holder_id
from trent.storage.sql_s3_garbage import SqlS3BlobGarbage
from trent.storage.sql import SqlStorage, migrate

log = logging.getLogger("trent")

# Expired STS session keys stay this long before the sweeper removes them (issue 5).
EXPIRED_SESSION_GRACE_SECONDS = 3600.0
# --dev: the well-known dev user may do everything its identity policy is asked about
# (the default key policy delegates to IAM, spec §7.1/§7.3).
DEV_POLICY_NAME = "TrentDevAdministratorAccess"
DEV_POLICY_DOCUMENT = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'

class Sweeper:
    """Carries out what time decides: key deletion at the end of its window (spec §5.3).

    Issue 20: of all the processes sharing the database, only the holder of the
    ``sweeper`` lease (storage/leases.py) runs the cluster-wide steps on its timer; every
    process flushes its own in-memory key-usage records. The lease is renewed every tick
    and lasts three ticks, so when its holder dies another process takes over within
    about three intervals. A --dev clock jump sweeps at once, lease or not (each step
    re-checks under row locks, so a sweep running elsewhere at the same time is harmless).
    """

    LEASE_NAME = "sweeper"

    def __init__(
        self, deps: ServiceDeps, audit: AuditOutbox, interval_seconds: float, wall_clock: Clock | None = None,
        leases: SqlLeases | None = None,
    ) -> None:
        self._deps = deps
        self._wall_clock = wall_clock or SystemClock()
        self._audit = audit
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._leases = leases
        self.holder = new_holder_id()
        self.holds_lease = leases is None
        start_tracking(deps.storage, deps.clock.now())  # GetKeyLastUsage TrackingStartDate
        self.last_sweep: dict[str, int | list[str]] = {}
        # Issue 17: S3 content blobs no row references, unlinked after a grace period
        # (service/s3/blob_reaper.py); set once the S3 front door exists.
        self.blob_reaper: BlobReaper | None = None

    def tick(self) -> None:
        """One timer round: the cluster-wide steps if this process holds the lease."""
        if self._leases is not None:
            lease = self._leases.try_acquire(self.LEASE_NAME, self.holder, max(3 * self._interval, 1.0))
            if (lease is not None) != self.holds_lease:
                log.info("%s the sweeper lease", "took" if lease is not None else "lost")
            self.holds_lease = lease is not None
        if self.holds_lease:
            self.run_once()
        else:
            with self._lock:
                self._deps.usage.flush(self._deps.storage)

    def run_once(self) -> int:
        with self._lock:  # the timer and a dev clock jump never sweep at once
            now = self._deps.clock.now()
            errors: list[str] = []
            deleted = self._step(errors, "key deletion", lambda: delete_due_keys(self._deps, now, self._record_deletion))
            # Keys over time (issue 4): automatic rotations that fell due (spec §5.4),
            # imported material past its ValidTo (spec §9), and the last-use records
            # held in memory since the previous sweep (service/usage.py).
            rotated = self._step(errors, "rotation", lambda: rotate_due_keys(
                self._deps, now, lambda key, _: self._record_service_event("RotateKey", key)))
            expired = self._step(errors, "material expiry", lambda: expire_due_material(
                self._deps, now, lambda key, _: self._record_service_event("DeleteExpiredKeyMaterial", key)))
            self._deps.usage.flush(self._deps.storage)
            # Issue 5: STS session keys, on the wall clock (as the Authenticator judges them),
            # kept for a grace period after expiry so their holders are told
            # ExpiredTokenException rather than an unrecognized key.
            sessions = self._deps.storage.delete_expired_access_keys(
                self._wall_clock.now() - EXPIRED_SESSION_GRACE_SECONDS
            )
            self.last_sweep = {"keysDeleted": deleted, "keysRotated": rotated, "keyMaterialsExpired": expired,
                               "expiredSessionKeysDeleted": sessions}
            reaper = self.blob_reaper
            if reaper is not None:
                self.last_sweep["s3BlobsUnlinked"] = self._step(errors, "s3 blob reaping",
                                                                lambda: reaper.run().unlinked)
            if errors:
                self.last_sweep["errors"] = errors
            return deleted

    @staticmethod
    def _step(errors: list[str], name: str, step: Callable[[], int]) -> int:
        """One step of the sweep; one that fails (issue 16: its audit event could not be
        recorded, so its change was rolled back) is retried by the next sweep and does not
        stop the others."""
        try:
            return step()
        except (AuditWriteError, StorageError) as exc:
            log.error("sweep: %s failed and was rolled back: %s", name, exc)
            errors.append(f"{name}: {exc}")
            return 0

    def _record_service_event(self, operation: str, key: Key) -> None:
        """In the service step's transaction (issue 16): if the event cannot be recorded,
        AuditWriteError rolls the change back and the next sweep tries again."""
        self._deps.service_events.emit(operation, key)

    def _record_deletion(self, key: Key) -> None:
        self._record_service_event("DeleteKey", key)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:  # keep the last uses seen since the previous sweep
            self._deps.usage.flush(self._deps.storage)
        except Exception:  # noqa: BLE001 - shutting down; nothing else to do
            log.exception("could not flush key usage at shutdown")
        if self._leases is not None and self.holds_lease:
            try:  # hand over now rather than after the TTL
                self._leases.release(self.LEASE_NAME, self.holder)
            except Exception:  # noqa: BLE001
                log.exception("could not release the sweeper lease")
            self.holds_lease = False

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self.tick)
            except Exception:  # noqa: BLE001 - keep sweeping; the next round retries
                log.exception("key deletion sweep failed")
            await asyncio.sleep(self._interval)


class Membership:
    """Which processes serve right now (issue 20): each renews a ``member:<holder>`` lease
    every second (it lasts 5 s) and counts the live ones; the count sizes this process's
    share of the request quotas (service/quotas.py), and is what /metrics reports."""

    PREFIX = "member:"
    INTERVAL = 1.0

    def __init__(self, leases: SqlLeases | None, quotas: RequestQuotas | None) -> None:
        self._leases = leases
        self._quotas = quotas
        self.holder = new_holder_id()
        self.members = 1
        self._task: asyncio.Task[None] | None = None

    def tick(self) -> None:
        if self._leases is None:
            return
        self._leases.try_acquire(self.PREFIX + self.holder, self.holder, 5 * self.INTERVAL)
        self.members = max(1, self._leases.count_live(self.PREFIX))
        if self._quotas is not None:
            self._quotas.set_share(1.0 / self.members)

    async def start(self) -> None:
        if self._leases is None:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.tick)

        async def run() -> None:
            while True:
                await asyncio.sleep(self.INTERVAL)
                try:
                    await loop.run_in_executor(None, self.tick)
                except Exception:  # noqa: BLE001 - the database may be away for a while
                    log.warning("membership heartbeat failed", exc_info=True)

        self._task = asyncio.create_task(run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._leases is not None:
            with contextlib.suppress(Exception):
                self._leases.release(self.PREFIX + self.holder, self.holder)


class CacheFeed:
    """The invalidation feed's listener for this process (issue 20, storage/change_feed.py),
    wired to the cache: while the feed is up entries live long (every write anywhere is
    announced); while it is down, the short fallback TTL bounds staleness."""

    def __init__(self, storage: CachedStorage, settings: Settings) -> None:
        self._storage = storage
        self._settings = settings
        url = settings.effective_database_url
        self.listener = None if is_memory_sqlite(normalize_url(url)) else listener_for(url, storage.apply, self._health)

    def _health(self, up: bool) -> None:
        s = self._settings
        self._storage.use_ttl(s.cache_ttl_with_feed_seconds if up else s.cache_ttl_seconds)

    def start(self) -> None:
        if self.listener is not None:
            self.listener.start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    deps: ServiceDeps
    app: TrentApp  # the ASGI face, for any ASGI server
    http: HttpServer  # Trent's own HTTP/1.1 front door (the default)
    sweeper: Sweeper
    audit: AuditOutbox
    dev_principal: Principal | None
    feed: CacheFeed
    membership: Membership
    delivery: TrailDelivery  # issue 16: log files and signed digests to the trail's bucket
    delivery_loop: Periodic

    async def start(self) -> None:
        self.feed.start()
        await self.membership.start()
        await self.sweeper.start()
        await self.delivery_loop.start()

    async def stop(self) -> None:
        await self.delivery_loop.stop()
        await self.sweeper.stop()
        await asyncio.get_running_loop().run_in_executor(None, self.delivery.release)
        await self.membership.stop()
        self.feed.stop()


def ensure_dev_identity(deps: ServiceDeps, settings: Settings) -> Principal:
    """The --dev account, its `dev` user and the well-known access key `test`/`test`."""
    storage = deps.storage
    now = deps.clock.now()
    account_id = settings.dev_account_id
    if storage.get_account(account_id) is None:
        identity.create_account(deps, account_id, "dev", now)
    arn = Principal.user_arn(account_id, DEV_USER_NAME)
    user = storage.get_principal(arn) or identity.create_user(deps, account_id, DEV_USER_NAME)
    if storage.get_access_key(DEV_ACCESS_KEY_ID) is None:
        identity.create_access_key(deps, arn, now, access_key_id=DEV_ACCESS_KEY_ID, secret=DEV_SECRET_ACCESS_KEY)
    if not any(p.name == DEV_POLICY_NAME for p in storage.list_identity_policies(arn)):
        storage.put_identity_policy(IdentityPolicy(arn, DEV_POLICY_NAME, DEV_POLICY_DOCUMENT))
    return user


def build_deps(settings: Settings, clock: Clock | None = None) -> ServiceDeps:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(settings.data_dir, 0o700)
    clock = clock or (ControllableClock() if settings.dev else SystemClock())
    url = settings.effective_database_url
    migrate(url)
    storage = CachedStorage(SqlStorage(url, trail_name=settings.audit_trail_name, power_safe=not settings.dev), clock,
                            ttl_seconds=settings.cache_ttl_seconds)
    # Issue 7: the root of trust by mode (file for --dev, Shamir-sealed, or inside an HSM).
    root = open_root(
        settings.root_mode, settings.data_dir, settings.effective_root_key_file,
        settings.hsm_root, settings.hsm_root_pin_file,
    )
    # Issue 7: a router in front of the software store sends custom-key-store keys to their HSM.
    router = KeyStoreRouter(SoftwareKeyStore(root))
    clusters = dict(parse_cluster(spec) for spec in settings.hsm_clusters)
    return ServiceDeps(
        storage=storage, keystore=router, clock=clock, root_key=root, key_stores=router, hsm_clusters=clusters,
        regions=settings.regions,
    )


def build(settings: Settings, clock: Clock | None = None) -> Runtime:
    settings.validate()
    deps = build_deps(settings, clock)
    sealed_root = deps.root_key if isinstance(deps.root_key, SealedRootKey) else None
    dev_principal = _start_with_root(deps, settings) if sealed_root is None else _dev_user(deps, settings)
    audit = build_outbox(deps, settings)
    deps.service_events.attach(audit, deps.clock)
    authenticator = identity.Authenticator(deps)
    pipeline = KmsPipeline(
        deps,
        authenticator,
        audit,
        AuthPolicy(regions=settings.regions, permissive=settings.permissive, dev_principal=dev_principal),
    )
    assert isinstance(deps.storage, CachedStorage)
    sql = deps.storage.inner
    leases = None if is_memory_sqlite(sql.engine.url) else SqlLeases(sql.engine)  # type: ignore[attr-defined]
    sweeper = Sweeper(deps, audit, settings.sweep_interval_seconds, leases=leases)
    try:
        limits = load_limits(settings.request_quotas, settings.dev)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--request-quotas: {exc}") from None
    pipeline.quotas = RequestQuotas(limits) if limits is not None else None
    membership = Membership(leases, pipeline.quotas)
    feed = CacheFeed(deps.storage, settings)
    delivery = build_delivery(deps, settings)
    delivery_loop = Periodic("audit delivery", settings.audit_delivery_interval_seconds,
                             lambda: _delivered_and_trimmed(delivery))
    dev = _dev_controls(deps, settings, authenticator, sweeper, delivery) if settings.dev else None
    executor = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="trent-op")
    # Issue 20: who may speak plain HTTP, and whose X-Forwarded-* headers count.
    transport = TransportPolicy(
        allow_plain=settings.dev or settings.insecure_http, trusted_proxies=parse_networks(settings.trusted_proxies)
    )
    app = TrentApp(
        pipeline,
        dev=dev,
        max_body_bytes=settings.max_body_bytes,
        executor=executor,
        on_startup=lambda: runtime.start(),
        on_shutdown=lambda: runtime.stop(),
        transport=transport,
    )
    http = HttpServer(pipeline, executor, dev=dev, max_body_bytes=settings.max_body_bytes, transport=transport)
    attach_front_doors(http, app, pipeline, settings, delivery, deps.clock.now())
    if http.s3 is not None and http.s3.blobs is not None:  # issue 17: under the sweeper's lease
        garbage = SqlS3BlobGarbage(sql.engine, sql._unit)  # type: ignore[attr-defined]  # noqa: SLF001 - one unit
        sweeper.blob_reaper = BlobReaper(garbage, http.s3.blobs.inner, deps.clock,
                                         grace_seconds=settings.s3_blob_grace_seconds)
    if settings.console:  # issue 21: /console on both front doors
        assert http.cloudtrail is not None
        http.console = app.console = _console(pipeline, authenticator, settings,
                                              TrailAccess(http.cloudtrail, delivery.store))
    if sealed_root is not None:
        http.root_controls = _seal_controls(deps, settings, sealed_root, pipeline, delivery)
    # locals, set once above, so that the lambdas see them narrowed (not None)
    key_stores, quotas, listener = deps.key_stores, pipeline.quotas, feed.listener
    http.metrics = RequestMetrics(Gauges(
        cache_stats=deps.storage.stats, audit_backlog=http.audit.backlog,
        hsm_sessions=(lambda: key_stores.sessions()) if key_stores is not None else None,
        quota_rejections=(lambda: quotas.rejected) if quotas is not None else None,
        lease_held=lambda: sweeper.holds_lease, members=lambda: membership.members,
        feed_up=(lambda: listener.healthy.is_set()) if listener is not None else None,
    ))
    if not settings.metrics:
        http.metrics = None
    http.access_log = AccessLog(settings.log_format) if settings.access_log else None
    http.readiness.checks = readiness_checks(deps, sealed_root)
    app.metrics, app.access_log, app.readiness = http.metrics, http.access_log, http.readiness
    runtime = Runtime(settings, deps, app, http, sweeper, audit, dev_principal, feed, membership, delivery,
                      delivery_loop)
    return runtime


def prepare(settings: Settings) -> None:
    """What a multi-worker start does once, in the parent, before the workers exist:
    migrate, and (unless sealed) the --dev identity and the seed, so N workers starting
    together find them in place instead of racing to create them."""
    settings.validate()
    deps = build_deps(settings)
    try:
        if not isinstance(deps.root_key, SealedRootKey):
            if settings.dev:
                ensure_dev_identity(deps, settings)
            apply_seed(deps, settings)
    finally:
        deps.storage.close()
        close = getattr(deps.root_key, "close", None)
        if close is not None:  # an HSM root's session: the workers open their own
            close()


def readiness_checks(deps: ServiceDeps, sealed_root: SealedRootKey | None) -> list[Callable[[], str | None]]:
    """What /_trent/ready asks (issue 20): sealed? database? HSMs?"""
    checks: list[Callable[[], str | None]] = []
    if sealed_root is not None:
        checks.append(lambda: "sealed: the root of trust is unavailable until unsealed" if sealed_root.sealed else None)
    # the cache's inner store, or the store itself: a SqlStorage, whose ping() is not on the
    # Storage protocol
    sql: Any = getattr(deps.storage, "inner", deps.storage)

    def database() -> str | None:
        try:
            sql.ping()
        except StorageError as exc:
            return f"database unreachable: {exc}"
        return None

    checks.append(database)
    root = deps.root_key
    if isinstance(root, HsmRootKey):
        def hsm_root() -> str | None:
            try:
                root.unwrap(root.wrap(b"ready", b"trent/ready-probe"), b"trent/ready-probe")
            except KeyStoreError as exc:
                return f"HSM root of trust unavailable: {exc}"
            return None

        checks.append(hsm_root)
    router = deps.key_stores
    if router is not None:
        def custom_key_stores() -> str | None:
            missing = [s.custom_key_store_id for s in deps.storage.list_custom_key_stores()
                       if s.connection_state is ConnectionState.CONNECTED and not router.connected(s.custom_key_store_id)]
            return f"HSM not connected in this process for custom key store(s) {', '.join(missing)}" if missing else None

        checks.append(custom_key_stores)
    return checks


def _console(pipeline: KmsPipeline, authenticator: identity.Authenticator, settings: Settings,
             trail: TrailAccess) -> Console:
    policy = SignInPolicy(lifetime_seconds=settings.console_session_seconds,
                          idle_seconds=settings.console_idle_seconds)
    return Console(
        pipeline, authenticator, region_ok=pipeline.auth_policy.region_ok,
        regions=sorted(settings.regions) if settings.regions else None,
        dev_access_key_id=DEV_ACCESS_KEY_ID if settings.dev else None, policy=policy, trail=trail,
    )


def apply_seed(deps: ServiceDeps, settings: Settings) -> None:
    """`serve --seed FILE` (issue 5): idempotent, so it is simply applied again at every
    start, unseal and --dev reset. Needs the root (fixed access keys are wrapped under it)."""
    if settings.seed_file is None:
        return
    try:
        text = settings.seed_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read seed file {str(settings.seed_file)!r}: {exc.strerror}") from None
    report = seed.apply_file(deps, text)
    log.info("seed %s: %d created, %d updated", settings.seed_file, len(report.created), len(report.updated))


def _start_with_root(deps: ServiceDeps, settings: Settings) -> Principal | None:
    """What needs the root at start: the --dev access key, the seed, custom key store logins."""
    dev_principal = ensure_dev_identity(deps, settings) if settings.dev else None
    apply_seed(deps, settings)
    for store_id in custom_key_stores.reconnect_all(deps):
        log.error("custom key store %s could not be reconnected; it is now FAILED", store_id)
    return dev_principal


def _dev_user(deps: ServiceDeps, settings: Settings) -> Principal | None:
    """Sealed start: the --dev user exists already or is created at unseal."""
    if not settings.dev:
        return None
    return deps.storage.get_principal(Principal.user_arn(settings.dev_account_id, DEV_USER_NAME))


def _seal_controls(
    deps: ServiceDeps, settings: Settings, root: SealedRootKey, pipeline: KmsPipeline, delivery: TrailDelivery
) -> RootControls:
    """Sealed root (issue 7): refuse KMS calls while sealed; start up / wipe on change."""

    def gate() -> TrentError | None:
        if not root.sealed:
            return None
        status = root.status()
        # A 400 KMSInvalidStateException: declared by every cryptographic operation, not
        # retried by the SDKs (only an operator's shares fix it), and it says what to do.
        return KMSInvalidState(
            f"This Trent server is sealed: its root of trust is unavailable until {status.threshold} unseal "
            f"shares are supplied with `trent unseal` ({status.progress} of {status.threshold} received)."
        )

    def after_change(sealed: bool) -> None:
        if sealed:
            pipeline.forget_secrets()
            forget_signing = getattr(delivery.signer, "forget", None)
            if forget_signing is not None:
                forget_signing()  # unwrapped digest signing keys
            if deps.key_stores is not None:
                deps.key_stores.close()  # HSM logins used PINs unwrapped under the root
                forget_all = getattr(deps.key_stores.default, "forget_all", None)
                if forget_all is not None:
                    forget_all()
        else:
            _start_with_root(deps, settings)

    pipeline.gate = gate
    return RootControls(root, load_or_create_admin_token(settings.data_dir), after_change)


def _dev_controls(
    deps: ServiceDeps, settings: Settings, authenticator: identity.Authenticator, sweeper: Sweeper,
    delivery: TrailDelivery,
) -> DevControls:
    clock = deps.clock
    assert isinstance(clock, ControllableClock)

    def reset() -> None:
        if deps.key_stores is not None:
            deps.key_stores.close()  # every custom key store row is about to go
        deps.storage.reset()
        authenticator.clear()
        ensure_dev_identity(deps, settings)
        apply_seed(deps, settings)

    def clock_status() -> dict[str, Any]:
        return {"now": clock.now(), "offsetSeconds": clock.offset_seconds}

    def advance(value: str | float, sweep: bool = True) -> dict[str, Any]:
        clock.advance(parse_duration(value))
        if not sweep:  # leave what fell due to the background sweep (issue 20 tests)
            return clock_status()
        # Whatever the jump made due happens before the caller's next request.
        sweeper.run_once()
        return {**clock_status(), **sweeper.last_sweep}

    def audit_flush() -> dict[str, Any]:
        """Deliver every pending event and sign a digest now (`trent dev audit flush`)."""
        return _delivered_and_trimmed(delivery, force_digest=True).to_json()

    return DevControls(reset=reset, clock_status=clock_status, advance_clock=advance, audit_flush=audit_flush)


def _delivered_and_trimmed(delivery: TrailDelivery, *, force_digest: bool = False) -> DeliveryReport:
    """A delivery run, then the memory its log files took handed back to the kernel
    (server/malloc_tuning.release_freed_memory: RSS stays where serving keeps it)."""
    try:
        return delivery.run(force_digest=force_digest)
    finally:
        release_freed_memory()
