"""The application under test, set up as production runs it, minus the network.

Auth is off (there is no EHR to sign a JWT), the database is SQLite in a throwaway folder, the clock
is fixed so every run sees the same clinical picture, and the hook log lines are formatted by the
production JSON formatter at INFO (as ``bone-health-cds serve`` does) but written to /dev/null.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import REGISTRY

from service._logging import JsonFormatter
from service.app import create_app
from service.settings import Settings

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
_FAILURE_COUNTERS = ("bhcds_reminder_scheduling_failures_total", "bhcds_audit_failures_total")


def bench_app(workdir: Path, now: datetime = NOW) -> FastAPI:
    settings = Settings(auth_enabled=False, database_url=f"sqlite:///{workdir}/bench.db")
    return create_app(settings, clock=lambda: now)


def quiet_production_logging() -> None:
    """INFO logs through the production formatter, into /dev/null: their cost is part of a request."""
    handler = logging.StreamHandler(open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 (lives as long as the process)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def silent_failures() -> float:
    """Reminder and audit writes that failed so far. The app hides them from the EHR (the cards still
    go out), so a benchmark must check this stays 0 or it may be timing a failing path."""
    return sum(REGISTRY.get_sample_value(name) or 0.0 for name in _FAILURE_COUNTERS)
