"""``GET /metrics`` in Prometheus's text format (issue 20), correct across worker processes.

prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by the worker
supervisor before the workers start) keeps every process's values in memory-mapped
files that any one process can aggregate when scraped. An update there costs 3-6 µs,
more than a cached Encrypt's whole protocol overhead, so requests are *not* counted in
it directly: :class:`RequestMetrics` counts in plain dicts on the event loop thread
(~0.3 µs a request, no lock: every response is released on that thread) and
:meth:`RequestMetrics.flush` moves the deltas into prometheus-client once a second
(and before every scrape). Values sampled rather than counted (cache entries, audit
backlog, HSM sessions, quota rejections, lease and membership) are read by
:meth:`RequestMetrics.flush` from the objects that own them (:class:`Gauges`).

Series (label sets are bounded: operation names, AWS error codes, families):

    trent_requests_total{operation, code}                 counter ("ok" or the error code)
    trent_request_duration_seconds{operation}             histogram
    trent_cache_lookups_total{result}                     counter (hit | miss)
    trent_cache_entries                                   gauge, summed over processes
    trent_audit_backlog_events                            gauge: events waiting for their write
    trent_hsm_sessions                                    gauge: logged-in PKCS#11 stores
    trent_quota_rejections_total                          counter
    trent_sweeper_lease_held / trent_cluster_members      gauges
    trent_invalidation_feed_up                            gauge (1 up, 0 down)
"""

from __future__ import annotations

import bisect
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Gauges:
    """Where sampled values come from (each optional: a process may not have the thing)."""

    cache_stats: Callable[[], tuple[int, int, int]] | None = None  # (hits, misses, entries)
    audit_backlog: Callable[[], int] | None = None
    hsm_sessions: Callable[[], int] | None = None
    quota_rejections: Callable[[], int] | None = None
    lease_held: Callable[[], bool] | None = None
    members: Callable[[], int] | None = None
    feed_up: Callable[[], bool] | None = None


@dataclass
class RequestMetrics:
    gauges: Gauges = field(default_factory=Gauges)

    def __post_init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._latency: dict[str, list[float]] = {}  # per operation: one count per bucket, then the sum
        self._last = {"hits": 0, "misses": 0, "rejections": 0}
        self.i = _instruments()

    # --- the hot path (event loop thread) ----------------------------------------------

    def record(self, operation: str, code: str, seconds: float) -> None:
        key = (operation, code)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1
        row = self._latency.get(operation)
        if row is None:
            row = self._latency[operation] = [0.0] * (len(BUCKETS) + 2)
        row[bisect.bisect_left(BUCKETS, seconds)] += 1
        row[-1] += seconds

    # --- once a second, and before a scrape ------------------------------------------------

    def flush(self) -> None:
        counts, self._counts = self._counts, {}
        latency, self._latency = self._latency, {}
        i = self.i
        for (operation, code), n in counts.items():
            i.requests.labels(operation, code).inc(n)
        for operation, row in latency.items():
            child = i.duration.labels(operation)
            # prometheus-client keeps one (non-cumulative) value per bucket and the sum;
            # adding the deltas there equals observing each sample (test_metrics pins it).
            for bucket, delta in enumerate(row[:-1]):
                if delta:
                    child._buckets[bucket].inc(delta)  # noqa: SLF001
            child._sum.inc(row[-1])  # noqa: SLF001
        self._sample()

    def _sample(self) -> None:
        g, i = self.gauges, self.i
        if g.cache_stats is not None:
            hits, misses, entries = g.cache_stats()
            i.cache_lookups.labels("hit").inc(max(0, hits - self._last["hits"]))
            i.cache_lookups.labels("miss").inc(max(0, misses - self._last["misses"]))
            self._last["hits"], self._last["misses"] = hits, misses
            i.cache_entries.set(entries)
        if g.quota_rejections is not None:
            rejected = g.quota_rejections()
            i.quota_rejections.inc(max(0, rejected - self._last["rejections"]))
            self._last["rejections"] = rejected
        for gauge, source in ((i.audit_backlog, g.audit_backlog), (i.hsm_sessions, g.hsm_sessions),
                              (i.lease_held, g.lease_held), (i.members, g.members), (i.feed_up, g.feed_up)):
            if source is not None:
                gauge.set(float(source()))


@dataclass(frozen=True)
class _Instruments:
    requests: Any
    duration: Any
    cache_lookups: Any
    cache_entries: Any
    audit_backlog: Any
    hsm_sessions: Any
    quota_rejections: Any
    lease_held: Any
    members: Any
    feed_up: Any


@functools.cache
def _instruments() -> _Instruments:
    """The metric families, created once per process (prometheus-client registers them
    globally and refuses a second registration of a name)."""
    from prometheus_client import Counter, Gauge, Histogram

    return _Instruments(
        requests=Counter("trent_requests", "Requests answered", ["operation", "code"]),
        duration=Histogram("trent_request_duration_seconds", "Time from request to response", ["operation"],
                           buckets=BUCKETS),
        cache_lookups=Counter("trent_cache_lookups", "Hot-path cache lookups", ["result"]),
        cache_entries=Gauge("trent_cache_entries", "Cached rows", multiprocess_mode="livesum"),
        audit_backlog=Gauge("trent_audit_backlog_events", "Audit events not yet written",
                            multiprocess_mode="livesum"),
        hsm_sessions=Gauge("trent_hsm_sessions", "Logged-in PKCS#11 custom key stores", multiprocess_mode="livesum"),
        quota_rejections=Counter("trent_quota_rejections", "Requests refused by a request quota"),
        lease_held=Gauge("trent_sweeper_lease_held", "1 in the process running cluster-wide jobs",
                         multiprocess_mode="livesum"),
        members=Gauge("trent_cluster_members", "Processes serving, as this one counts them",
                      multiprocess_mode="livemax"),
        feed_up=Gauge("trent_invalidation_feed_up", "1 while the cache invalidation feed is up",
                      multiprocess_mode="livemin"),
    )


def render() -> bytes:
    """The exposition text: every process's values when in multiprocess mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def process_exited(pid: int) -> None:
    """The supervisor's note that a worker is gone: its live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
