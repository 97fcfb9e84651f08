"""Broker and delivery guarantees that the reminder pipeline relies on."""

from __future__ import annotations

from pathlib import Path

from service.celery_app import make_celery
from service.reminders.tasks import (
    DELIVER_TASK,
    DISPATCH_TASK,
    PRUNE_AUDIT_TASK,
    SCAN_TASK,
    delivery_time_limit,
)
from service.settings import Settings


def test_tasks_survive_a_dead_worker_and_nothing_is_prefetched() -> None:
    conf = make_celery(Settings(broker_url="redis://127.0.0.1:6379/0")).conf
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.result_backend is None


def test_redis_visibility_timeout_outlasts_any_task_and_retry_wait() -> None:
    settings = Settings(broker_url="redis://127.0.0.1:6379/0", celery_namespace="site-a")
    conf = make_celery(settings).conf
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert visibility > delivery_time_limit(settings) + settings.delivery_backoff_max_seconds
    assert conf.broker_transport_options["global_keyprefix"] == "site-a:"


def test_beat_runs_the_dispatcher_and_the_scan_at_their_intervals_and_prunes_the_audit_daily() -> None:
    app = make_celery(Settings(dispatch_interval_seconds=120, scan_interval_seconds=3600))
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule == {DISPATCH_TASK: 120.0, SCAN_TASK: 3600.0, PRUNE_AUDIT_TASK: 86400.0}
    assert PRUNE_AUDIT_TASK in app.tasks
    assert DELIVER_TASK in app.tasks


def test_embedded_broker_is_sqlite_beside_the_database(tmp_path: Path) -> None:
    app = make_celery(Settings(database_url=f"sqlite:///{tmp_path}/var/bhcds.db"))
    assert app.conf.broker_url == f"sqla+sqlite:///{tmp_path}/var/broker.db"
    assert "visibility_timeout" not in app.conf.broker_transport_options  # kombu hands these to create_engine


def test_each_app_runs_its_tasks_with_its_own_settings() -> None:
    first = make_celery(Settings(delivery_timeout_seconds=1))
    second = make_celery(Settings(delivery_timeout_seconds=100))
    # A task shared between apps would keep the first app's settings (and its time limit).
    assert first.tasks[DELIVER_TASK].time_limit == delivery_time_limit(first.settings)
    assert second.tasks[DELIVER_TASK].time_limit == delivery_time_limit(second.settings) != 62
