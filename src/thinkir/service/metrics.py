"""Prometheus metrics of one app (own registry, so several apps in one process do not collide)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "thinkir_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "thinkir_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stage = Histogram(
            "thinkir_stage_duration_seconds",
            "Wall time of one pipeline stage (computed, not cached).",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.cache = Counter(
            "thinkir_cache_requests",
            "Cache lookups by kind and outcome (hit, miss).",
            ["kind", "outcome"],
            registry=r,
        )
        self.cache_errors = Counter(
            "thinkir_cache_errors",
            "Cache backend errors and timeouts (each served as a miss).",
            ["op"],
            registry=r,
        )
        self.singleflight = Counter(
            "thinkir_singleflight_shared",
            "Requests that waited on an identical in-flight computation.",
            ["kind"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "thinkir_queue_depth", "Requests waiting for or holding an inference worker.", registry=r
        )
        self.rejected = Counter(
            "thinkir_rejected_requests", "Requests refused by load shedding or limits.", ["reason"], registry=r
        )
        self.batch_size = Histogram(
            "thinkir_embed_batch_texts",
            "Texts per micro-batched embedder call.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
