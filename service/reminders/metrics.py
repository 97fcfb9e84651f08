"""Prometheus metrics of the reminder pipeline.

The gauge is refreshed from the database (by each dispatch, and by whoever serves ``/metrics``
through :func:`refresh_status_gauge`), so any process reports the true counts.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import Reminder, ReminderStatus

REMINDERS_BY_STATUS = Gauge("bhcds_reminders", "Reminders by status", ["status"])
DELIVERY_SECONDS = Histogram(
    "bhcds_reminder_delivery_seconds",
    "Time of one delivery attempt (FHIR Task and/or webhook)",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELIVERY_RETRIES = Counter("bhcds_reminder_delivery_retries", "Delivery attempts that will be retried")
CHART_REREAD_FAILURES = Counter(
    "bhcds_reminder_chart_reread_failures", "Deliveries whose chart could not be re-read (sent as scheduled)"
)
DISPATCHED = Counter("bhcds_reminders_dispatched", "Reminders handed to a worker", ["kind"])


def refresh_status_gauge(factory: sessionmaker[Session]) -> dict[str, int]:
    """Count reminders by status and publish the counts; returns them."""
    with factory() as session:
        rows = session.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all()
        counts = {status: count for status, count in rows}
    result = {status.value: int(counts.get(status.value, 0)) for status in ReminderStatus}
    for status, count in result.items():
        REMINDERS_BY_STATUS.labels(status=status).set(count)
    return result
