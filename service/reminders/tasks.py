"""Celery tasks: deliver reminders (a batch, or one alone), dispatch due reminders, scan the FHIR server (a search that
enqueues batches, and the batches, evaluated by whichever workers take them)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import httpx
from celery import Task
from sqlalchemy.orm import Session, sessionmaker

from service.kernel.findings import Finding
from service.persistence import make_engine, session_factory
from service.persistence.models import utcnow
from service.persistence.retention import prune_audit
from service.reminders._tls import tls_context
from service.reminders.batch import deliver_batch
from service.reminders.delivery import Outcome, deliver_reminder
from service.reminders.dispatch import dispatch_due_in_batches
from service.reminders.recheck import StillDue, chart_recheck
from service.settings import Settings

if TYPE_CHECKING:
    from service.celery_app import BoneHealthCelery

log = logging.getLogger(__name__)

DELIVER_TASK = "bhcds.deliver_reminder"
DELIVER_BATCH_TASK = "bhcds.deliver_reminders"
DISPATCH_TASK = "bhcds.dispatch_due"
SCAN_TASK = "bhcds.scan"
SCAN_BATCH_TASK = "bhcds.scan_batch"
SCAN_BATCH_TIME_LIMIT = 1800  # seconds; under Redis's visibility timeout (an hour at least)
PRUNE_AUDIT_TASK = "bhcds.prune_audit"

Evaluate = Callable[[str, list[dict[str, Any]], datetime], Sequence[Finding]]


@lru_cache(maxsize=4)
def factory_for(url: str) -> sessionmaker[Session]:
    """One engine per database and process (created lazily, so after a prefork fork)."""
    return session_factory(make_engine(url))


@lru_cache(maxsize=4)
def http_client(timeout: float) -> httpx.Client:
    """One client per worker process (made lazily, so after a prefork fork): its connections are
    kept alive from one delivery to the next, and its TLS context is the process's one."""
    return httpx.Client(timeout=timeout, verify=tls_context())


def evaluator(settings: Settings) -> Evaluate:
    """The application's evaluation, imported late: the worker starts without the rules loaded."""
    from service.evaluation import evaluate_resources

    def evaluate(patient_id: str, resources: list[dict[str, Any]], now: datetime) -> Sequence[Finding]:
        return evaluate_resources(patient_id, resources, now, settings)

    return evaluate


def run_dispatch(app: BoneHealthCelery) -> int:
    settings = app.settings
    if not settings.fhir_base_url and not settings.reminder_webhook_url:
        log.warning(
            "reminder delivery is not configured (set BHCDS_FHIR_BASE_URL or BHCDS_REMINDER_WEBHOOK_URL): "
            "due reminders stay pending"
        )
        return 0
    deliver = app.tasks[DELIVER_BATCH_TASK]
    return dispatch_due_in_batches(
        factory_for(settings.database_url),
        lambda reminder_ids: deliver.apply_async(args=[reminder_ids]),
        size=settings.delivery_batch_size,
        now=utcnow(),
        lease=timedelta(seconds=settings.reminder_lease_seconds),
    )


def run_delivery_batch(app: BoneHealthCelery, reminder_ids: list[int]) -> dict[str, int]:
    """Deliver a batch; a reminder to retry, or handed off, goes on as a single delivery task."""
    settings = app.settings
    factory = factory_for(settings.database_url)
    result = deliver_batch(
        factory,
        reminder_ids,
        settings,
        client=http_client(settings.delivery_timeout_seconds),
        still_due=_still_due(settings, factory),
        budget=delivery_batch_budget(settings),
    )
    single = app.tasks[DELIVER_TASK]
    for reminder_id, outcome in result.outcomes.items():
        if outcome.outcome is Outcome.RETRY:
            single.apply_async(args=[reminder_id], countdown=outcome.retry_in)
    for reminder_id in result.handed_off:
        single.apply_async(args=[reminder_id])
    counts = {o.value: result.count(o) for o in Outcome if result.count(o)}
    if result.handed_off:
        counts["handed-off"] = len(result.handed_off)
    return counts


def _still_due(settings: Settings, factory: sessionmaker[Session]) -> StillDue | None:
    """The chart re-read before sending (recheck.py), when a FHIR server is configured to serve it."""
    if settings.fhir_base_url and settings.reminder_recheck_chart:
        return chart_recheck(settings, factory, evaluator(settings))
    return None


def run_scan(settings: Settings) -> int:
    """One scan in this process (the `bone-health-cds scan` command): returns patients evaluated."""
    from service.reminders.scan import scan

    return asyncio.run(scan(settings, evaluator(settings), factory=factory_for(settings.database_url)))


def fan_out_scan(app: BoneHealthCelery) -> int | None:
    """Start a scan run and enqueue its batches for the workers; returns the run's id."""
    from service.reminders.scan import enqueue_scan

    settings = app.settings
    batch_task = app.tasks[SCAN_BATCH_TASK]
    now = utcnow()

    def enqueue(run_id: int, batch: int, patient_ids: list[str]) -> None:
        batch_task.apply_async(args=[run_id, batch, patient_ids, now.isoformat()])

    return asyncio.run(enqueue_scan(settings, enqueue, now=now, factory=factory_for(settings.database_url)))


def run_scan_batch(settings: Settings, run_id: int, batch: int, patient_ids: list[str], now: str) -> int:
    from service.reminders.scan import evaluate_batch

    result = asyncio.run(
        evaluate_batch(
            settings,
            evaluator(settings),
            run_id,
            batch,
            patient_ids,
            now=datetime.fromisoformat(now),
            factory=factory_for(settings.database_url),
        )
    )
    return result.evaluated if result else 0


def register(app: BoneHealthCelery) -> None:
    """Define the tasks on ``app`` (each app carries its own settings)."""
    settings = app.settings

    @app.task(
        bind=True,
        shared=False,  # a shared task would attach this app's settings to every later app
        name=DELIVER_TASK,
        acks_late=True,
        max_retries=None,
        time_limit=delivery_time_limit(settings),
    )
    def deliver(self: Task[Any, Any], reminder_id: int) -> str:
        factory = factory_for(settings.database_url)
        result = deliver_reminder(
            factory,
            reminder_id,
            settings,
            client=http_client(settings.delivery_timeout_seconds),
            still_due=_still_due(settings, factory),
        )
        if result.outcome is Outcome.RETRY:
            raise self.retry(countdown=result.retry_in, max_retries=None)
        return result.outcome.value

    # A batch is acknowledged after its outcomes are written; one delivered again sends only the
    # rows still claimed. What it does not finish within one delivery's time limit goes on alone.
    @app.task(
        name=DELIVER_BATCH_TASK,
        acks_late=True,
        shared=False,
        time_limit=delivery_batch_time_limit(settings),
    )
    def deliver_reminders(reminder_ids: list[int]) -> dict[str, int]:
        return run_delivery_batch(app, reminder_ids)

    # Dispatch and scan are idempotent and rerun by beat: a lost run is simply the next one.
    @app.task(name=DISPATCH_TASK, acks_late=False, shared=False)
    def dispatch() -> int:
        return run_dispatch(app)

    @app.task(name=SCAN_TASK, acks_late=False, shared=False)
    def scan() -> int | None:
        return fan_out_scan(app)

    # A batch is acknowledged after it commits: a worker killed mid-batch leaves it to another one.
    # It commits whole (reminders, counters, its row), so a second delivery changes nothing.
    @app.task(
        bind=True,
        name=SCAN_BATCH_TASK,
        acks_late=True,
        shared=False,
        max_retries=3,
        time_limit=SCAN_BATCH_TIME_LIMIT,
    )
    def scan_batch(self: Task[Any, Any], run_id: int, batch: int, patient_ids: list[str], now: str) -> int:
        try:
            return run_scan_batch(settings, run_id, batch, patient_ids, now)
        except Exception as exc:  # the database or the search failed: try the batch again later
            raise self.retry(exc=exc, countdown=60) from exc

    @app.task(name=PRUNE_AUDIT_TASK, acks_late=False, shared=False)
    def prune_audit_rows() -> int:
        """Keep the hook audit trail for BHCDS_AUDIT_RETENTION_DAYS, no longer."""
        factory = factory_for(settings.database_url)
        return prune_audit(factory, utcnow(), settings.audit_retention_days)


def delivery_time_limit(settings: Settings) -> int:
    """Hard limit of one delivery task: two HTTP calls (FHIR, webhook) plus database work."""
    return int(settings.delivery_timeout_seconds * 2 + 60)


def delivery_batch_budget(settings: Settings) -> float:
    """How long a batch starts reminders: one delivery's limit, and at most half the claim's lease
    (the batch renewed it), so the dispatcher does not hand out what a running batch still holds."""
    return float(min(delivery_time_limit(settings), settings.reminder_lease_seconds / 2))


def delivery_batch_time_limit(settings: Settings) -> int:
    """Hard limit of a batch: it starts no reminder after one delivery's limit, and the last one
    started may take a delivery's limit again (the broker's visibility timeout outlasts both)."""
    return 2 * delivery_time_limit(settings)
