"""Prometheus metrics of the hook path (reminder metrics live in service.reminders.metrics)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram

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
ISSUED_CARD_FAILURES = Counter(
    "bhcds_issued_card_failures_total", "Hook calls whose cards could not be remembered for feedback"
)
DEFERRED_WRITE_RETRIES = Counter(
    "bhcds_write_retries_total",
    "Attempts to commit a hook's deferred write that met a passing database error and will be retried",
    ["kind"],
)
DEFERRED_WRITES_PENDING = Gauge("bhcds_writes_pending", "Deferred writes of hook calls not yet committed")
#: Writes that were given up (a constraint broken, or a queue full in a long outage), by kind.
WRITE_FAILURES: dict[str, Counter] = {
    "reminders": REMINDER_SCHEDULING_FAILURES,
    "audit": AUDIT_FAILURES,
    "cards-issued": ISSUED_CARD_FAILURES,
}
FEEDBACK_READ_FAILURES = Counter(
    "bhcds_feedback_read_failures_total", "Hook calls answered without reading the patient's suppressions"
)
HOOK_CALLS = Counter(
    "bhcds_hook_calls_total",
    "Hook calls by service and outcome (ok, invalid, unauthorized, unavailable, timeout, too-large, error...)",
    ["service", "outcome"],
)
HOOK_CALL_SECONDS = Histogram(
    "bhcds_hook_call_seconds",
    "Whole hook calls as the EHR sees them (auth, FHIR fetch, evaluation), by service",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
)
REPLAY_CACHE_FALLBACKS = Counter(
    "bhcds_replay_cache_fallback_total",
    "JWTs whose jti was checked in this process only, because the shared (Redis) replay cache failed",
)
DEPENDENCY_UP = Gauge(
    "bhcds_dependency_up", "1 when the dependency answered the last /readyz probe, else 0", ["dependency"]
)


def observe_hook(service: str, topics: Sequence[str], seconds: float) -> None:
    HOOK_LATENCY.labels(service=service).observe(seconds)
    for topic in topics:
        CARDS.labels(service=service, topic=topic).inc()
