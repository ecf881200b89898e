"""server/metrics.py: counts taken on the hot path, moved into prometheus-client later,
must read exactly as if every sample had been observed directly (issue 20)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest

from trent.server.metrics import BUCKETS, Gauges, RequestMetrics


def _sample(name: str, labels: dict[str, str]) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_flushed_histogram_equals_direct_observation() -> None:
    samples = [0.0001, 0.0004, 0.0009, 0.003, 0.003, 0.02, 0.3, 4.0, 12.0]
    metrics = RequestMetrics()
    before = {b: _sample("trent_request_duration_seconds_bucket", {"operation": "UnitTestOp", "le": str(b)})
              for b in BUCKETS}
    for s in samples:
        metrics.record("UnitTestOp", "ok", s)
    metrics.record("UnitTestOp", "KMSInvalidStateException", 0.001)
    metrics.record("UnitTestOtherOp", "ok", 0.002)  # several operations in one flush
    metrics.flush()
    assert _sample("trent_request_duration_seconds_count", {"operation": "UnitTestOtherOp"}) >= 1

    reference_registry = CollectorRegistry()
    reference = Histogram("ref_seconds", "reference", buckets=BUCKETS, registry=reference_registry)
    for s in [*samples, 0.001]:
        reference.observe(s)
    for b in BUCKETS:
        got = _sample("trent_request_duration_seconds_bucket", {"operation": "UnitTestOp", "le": str(b)}) - before[b]
        want = reference_registry.get_sample_value("ref_seconds_bucket", {"le": str(b)})
        assert got == want, b
    assert abs(_sample("trent_request_duration_seconds_sum", {"operation": "UnitTestOp"})
               - reference_registry.get_sample_value("ref_seconds_sum", {})) < 1e-9
    assert _sample("trent_requests_total", {"operation": "UnitTestOp", "code": "ok"}) == len(samples)
    assert _sample("trent_requests_total", {"operation": "UnitTestOp", "code": "KMSInvalidStateException"}) == 1
    metrics.flush()  # nothing new: nothing added
    assert _sample("trent_requests_total", {"operation": "UnitTestOp", "code": "ok"}) == len(samples)


def test_gauges_are_sampled_and_counters_take_deltas() -> None:
    state = {"hits": 10, "misses": 2, "rejected": 3}
    metrics = RequestMetrics(Gauges(
        cache_stats=lambda: (state["hits"], state["misses"], 7), audit_backlog=lambda: 4,
        quota_rejections=lambda: state["rejected"], lease_held=lambda: True, members=lambda: 2,
    ))
    hits0 = _sample("trent_cache_lookups_total", {"result": "hit"})
    rejected0 = _sample("trent_quota_rejections_total", {})
    metrics.flush()
    state["hits"] += 5
    state["rejected"] += 1
    metrics.flush()
    assert _sample("trent_cache_lookups_total", {"result": "hit"}) - hits0 == 15
    assert _sample("trent_quota_rejections_total", {}) - rejected0 == 4
    assert _sample("trent_cache_entries", {}) == 7 and _sample("trent_audit_backlog_events", {}) == 4
    assert _sample("trent_sweeper_lease_held", {}) == 1 and _sample("trent_cluster_members", {}) == 2
    assert b"trent_requests_total" in generate_latest(REGISTRY)
