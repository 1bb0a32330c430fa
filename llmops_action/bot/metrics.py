"""Prometheus metrics: deliveries counted by the server; job outcomes and durations read from the shared
state at scrape time, so every worker's jobs show on the one /metrics."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

RESULTS = ("accepted", "duplicate", "rejected", "ignored")
BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class JobCollector(Collector):
    def __init__(self, state: Any, window: int = 1000) -> None:
        self.state, self.window = state, window

    def collect(self) -> Iterator[Any]:
        jobs = self.state.jobs(limit=self.window)
        states = Tally(j["state"] for j in jobs)
        gauge = GaugeMetricFamily("llmops_jobs", "Jobs by state (most recent jobs)", labels=["state"])
        for s in ("queued", "running", "done", "failed", "superseded", "refused"):
            gauge.add_metric([s], states.get(s, 0))
        yield gauge
        outcomes = CounterMetricFamily(
            "llmops_job_outcomes", "Finished jobs by kind and outcome", labels=["kind", "outcome"]
        )
        for (kind, outcome), n in sorted(
            Tally((j["kind"], j["state"]) for j in jobs if j.get("finished")).items()
        ):
            outcomes.add_metric([kind, outcome], n)
        yield outcomes
        durations = [j["duration"] for j in jobs if j.get("duration") is not None]
        hist = HistogramMetricFamily("llmops_job_duration_seconds", "Duration of finished jobs", labels=[])
        buckets = [(str(b), sum(1 for d in durations if d <= b)) for b in BUCKETS]
        buckets.append(("+Inf", len(durations)))
        hist.add_metric([], buckets, sum(durations))
        yield hist


ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def make_registry(state: Any) -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    deliveries = Counter(
        "llmops_webhook_deliveries",
        "Webhook deliveries by event and result (accepted, duplicate, rejected, ignored)",
        ["event", "result"],
        registry=registry,
    )
    ack = Histogram(
        "llmops_webhook_ack_seconds",
        "Time from a delivery's first byte read to its answer, inside the server",
        buckets=ACK_BUCKETS,
        registry=registry,
    )
    registry.register(JobCollector(state))
    return registry, deliveries, ack
