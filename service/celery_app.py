"""The Celery application: a worker delivers reminders, beat triggers dispatch and scans.

Beat never schedules a reminder itself (no ETA months ahead): it only runs the dispatcher every few
minutes, and the dispatcher reads due rows from the database. Broker: Redis in production
(``BHCDS_BROKER_URL``), otherwise kombu's SQLAlchemy transport on a SQLite file beside the database,
which needs no server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery

from service.persistence import normalise_url, sqlite_path
from service.reminders.tasks import DISPATCH_TASK, PRUNE_AUDIT_TASK, SCAN_TASK, delivery_time_limit, register
from service.settings import Settings, get_settings

_MIN_VISIBILITY_SECONDS = 3600
_DAY = 86_400  # the audit trail is pruned daily


class BoneHealthCelery(Celery):
    """A Celery app that carries the service settings its tasks run with."""

    settings: Settings


def var_dir(settings: Settings) -> Path:
    """Where embedded state lives: the SQLite database's folder, else ./var."""
    path = sqlite_path(normalise_url(settings.database_url))
    return path.parent if path is not None else Path("var")


def embedded_broker_url(settings: Settings) -> str:
    return f"sqla+sqlite:///{var_dir(settings) / 'broker.db'}"


def make_celery(settings: Settings) -> BoneHealthCelery:
    """A configured app with the reminder tasks registered and the beat schedule set."""
    app = BoneHealthCelery("bone_health_cds", set_as_current=False)
    app.settings = settings
    broker = settings.broker_url or embedded_broker_url(settings)
    if settings.broker_url is None:
        var_dir(settings).mkdir(parents=True, exist_ok=True)
    app.conf.update(
        broker_url=broker,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=f"{settings.celery_namespace}.reminders",
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        beat_schedule_filename=str(var_dir(settings) / "celerybeat-schedule"),
        beat_schedule={
            "dispatch-due-reminders": {
                "task": DISPATCH_TASK,
                "schedule": float(settings.dispatch_interval_seconds),
                "options": {"expires": float(settings.dispatch_interval_seconds)},
            },
            "scan-patients": {
                "task": SCAN_TASK,
                "schedule": float(settings.scan_interval_seconds),
                "options": {"expires": float(settings.scan_interval_seconds)},
            },
            "prune-audit": {
                "task": PRUNE_AUDIT_TASK,
                "schedule": float(_DAY),
                "options": {"expires": float(_DAY)},
            },
        },
    )
    register(app)
    return app


def _transport_options(settings: Settings) -> dict[str, Any]:
    if settings.broker_url is None:
        # Passed to create_engine by kombu: wait for the SQLite write lock rather than fail.
        return {"connect_args": {"timeout": 30}}
    visibility = max(
        _MIN_VISIBILITY_SECONDS,
        int(settings.delivery_backoff_max_seconds * 2 + delivery_time_limit(settings) * 2),
    )
    # Redis: an unacknowledged message (worker killed) comes back after the visibility timeout,
    # which must outlast any task and any retry countdown, or a healthy task would run twice.
    return {"visibility_timeout": visibility, "global_keyprefix": f"{settings.celery_namespace}:"}


app = make_celery(get_settings())
