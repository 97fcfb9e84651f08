"""Prometheus metrics of the hook path (reminder metrics live in service.reminders.metrics)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Histogram

HOOK_LATENCY = Histogram(
    "bhcds_hook_latency_seconds",
    "Time to evaluate one hook call, from resolved data to cards",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
CARDS = Counter("bhcds_cards_total", "Cards returned, by topic", ["service", "topic"])
REMINDER_SCHEDULING_FAILURES = Counter(
    "bhcds_reminder_scheduling_failures_total", "Hook calls whose reminders could not be reconciled"
)
AUDIT_FAILURES = Counter("bhcds_audit_failures_total", "Hook calls whose audit row could not be written")


def observe_hook(service: str, topics: Sequence[str], seconds: float) -> None:
    HOOK_LATENCY.labels(service=service).observe(seconds)
    for topic in topics:
        CARDS.labels(service=service, topic=topic).inc()
