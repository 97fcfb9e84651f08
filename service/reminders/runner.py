"""Process entry points the CLI calls: worker, beat, one-off dispatch and scan, embedded mode."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.persistence import migrate
from service.settings import Settings

log = logging.getLogger(__name__)

_STOP_GRACE_SECONDS = 10.0
_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # so children import `service` even uninstalled


def run_worker(settings: Settings, concurrency: int | None = None) -> None:
    """Run a Celery worker in this process until it is stopped."""
    from service.celery_app import make_celery

    migrate(settings.database_url)
    argv = ["worker", f"--loglevel={settings.log_level}"]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    make_celery(settings).worker_main(argv)


def run_beat(settings: Settings) -> None:
    """Run Celery beat (the dispatcher and scan timers) in this process until it is stopped."""
    from service.celery_app import beat_schedule_path, make_celery

    migrate(settings.database_url)
    beat_schedule_path(settings).parent.mkdir(parents=True, exist_ok=True)
    make_celery(settings).start(["beat", f"--loglevel={settings.log_level}"])


def dispatch_once(settings: Settings) -> int:
    """Claim the due reminders now and enqueue their deliveries; returns how many were enqueued."""
    from service.celery_app import make_celery
    from service.reminders.tasks import run_dispatch

    migrate(settings.database_url)
    return run_dispatch(make_celery(settings))


def scan_once(settings: Settings) -> int:
    """Scan the FHIR server now; returns how many patients were evaluated."""
    from service.reminders.tasks import run_scan

    migrate(settings.database_url)
    return run_scan(settings)


def start_embedded(settings: Settings) -> Callable[[], None]:
    """Start a worker and beat as child processes for the all-in-one ``serve``.

    The children get exactly these settings (as BHCDS_* variables). Returns a function that stops
    them: SIGTERM (Celery's warm shutdown), then SIGKILL if one is still running after a grace period.
    """
    from service.celery_app import beat_schedule_path

    migrate(settings.database_url)
    beat_schedule_path(settings).parent.mkdir(parents=True, exist_ok=True)
    env = settings_environment(settings)
    base = [sys.executable, "-m", "celery", "-A", "service.celery_app:app"]
    level = f"--loglevel={settings.log_level}"
    # Each child leads a process group of its own (the worker's pool process included): serve alone
    # decides when they stop, and a child that outlives its grace period is killed with its group.
    children = [
        subprocess.Popen(
            [*base, "worker", level, "--concurrency=1", "--without-gossip", "--without-mingle"],
            env=env,
            process_group=0,
        ),
        subprocess.Popen([*base, "beat", level], env=env, process_group=0),
    ]
    log.info("embedded worker (pid %d) and beat (pid %d) started", children[0].pid, children[1].pid)
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS  # one grace period for both, not one each
        for child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("celery child %d did not stop in time; killing it", child.pid)
                child.kill()
                child.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)  # whatever of its group is left (a pool process)

    return stop


def settings_environment(settings: Settings) -> dict[str, str]:
    """This process's environment with BHCDS_* replaced by ``settings``, for child processes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BHCDS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            env[f"BHCDS_{name.upper()}"] = _env_value(value)
    return env


def _env_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
