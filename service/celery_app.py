"""The Celery application: a worker delivers reminders, beat triggers dispatch and scans.

Beat never schedules a reminder itself (no ETA months ahead): it only runs the dispatcher every few
minutes, and the dispatcher reads due rows from the database. Broker: Redis in production
(``BHCDS_BROKER_URL``), otherwise kombu's SQLAlchemy transport on a SQLite file beside the database,
which needs no server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery, signals

from service import _logging
from service.persistence import normalise_url, sqlite_path
from service.reminders.tasks import DISPATCH_TASK, PRUNE_AUDIT_TASK, SCAN_TASK, delivery_time_limit, register
from service.settings import Settings, get_settings

_MIN_VISIBILITY_SECONDS = 3600
_DAY = 86_400  # the audit trail is pruned daily


class BoneHealthCelery(Celery):
    """A Celery app that carries the service settings its tasks run with."""

    settings: Settings


def var_dir(settings: Settings) -> Path:
    """Where local state lives: ``BHCDS_STATE_DIR``, else the SQLite database's folder, else ./var."""
    if settings.state_dir is not None:
        return Path(settings.state_dir)
    path = sqlite_path(normalise_url(settings.database_url))
    return path.parent if path is not None else Path("var")


def beat_schedule_path(settings: Settings) -> Path:
    """Beat's schedule file (when each timer last ran): ``BHCDS_BEAT_SCHEDULE_PATH``, else in var_dir."""
    if settings.beat_schedule_path is not None:
        return Path(settings.beat_schedule_path)
    return var_dir(settings) / "celerybeat-schedule"


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
        # remote control and events too: deployments sharing a broker (or a RabbitMQ vhost) stay apart
        control_exchange=f"{settings.celery_namespace}.control",
        event_exchange=f"{settings.celery_namespace}.events",
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        # print() and stray stderr writes stay plain output: redirected, each fragment became a log record
        worker_redirect_stdouts=False,
        beat_schedule_filename=str(beat_schedule_path(settings)),
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
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        # RabbitMQ (amqp://): unacknowledged messages come back when the consumer's channel closes, and
        # the queue name carries the namespace (task_default_queue); the vhost separates deployments.
        return {}
    visibility = max(
        _MIN_VISIBILITY_SECONDS,
        int(settings.delivery_backoff_max_seconds * 2 + delivery_time_limit(settings) * 2),
    )
    # Redis: an unacknowledged message (worker killed) comes back after the visibility timeout,
    # which must outlast any task and any retry countdown, or a healthy task would run twice.
    return {"visibility_timeout": visibility, "global_keyprefix": f"{settings.celery_namespace}:"}


@signals.setup_logging.connect
def _json_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """Celery's own logging (worker, beat, embedded children) goes through the service's JSON lines."""
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel
    _logging.configure(str(level or get_settings().log_level))


app = make_celery(get_settings())
