"""Readiness: is the database reachable, is the broker? Changes are logged once and gauged."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

from service import metrics
from service.settings import Settings

log = logging.getLogger("bone_health_cds.readiness")


class Readiness:
    """What /readyz reports; remembers the last state so a change either way is logged once."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._up: dict[str, bool] = {}

    def check(self) -> dict[str, str]:
        status: dict[str, str] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            status["database"] = "ok"
        except Exception as exc:  # any driver error means "not ready"; the type says which
            status["database"] = f"unavailable: {type(exc).__name__}"
        status["broker"] = _broker_status(self.settings)
        for dependency, state in status.items():
            self._note(dependency, state.startswith("ok"), state)
        return status

    def _note(self, dependency: str, up: bool, state: str) -> None:
        metrics.DEPENDENCY_UP.labels(dependency=dependency).set(1 if up else 0)
        if self._up.get(dependency, True) and not up:
            consequence = _WITHOUT.get(dependency, "")
            log.error("%s unavailable (%s)%s", dependency, state.removeprefix("unavailable: "), consequence)
        elif not self._up.get(dependency, True) and up:
            log.warning("%s reachable again", dependency)
        self._up[dependency] = up


_WITHOUT = {
    "database": ": hooks still answer with cards; reminders and audit rows are not written",
    "broker": ": hooks still answer with cards and reminders are scheduled in the database; "
    "none is delivered until it is back, and JWT replay checks are per process",
}


def _broker_status(settings: Settings) -> str:
    if settings.broker_url is None:
        return "ok (embedded)"
    try:
        from kombu import Connection

        with Connection(settings.broker_url, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=1)  # a probe must not wait 2 s
        return "ok"
    except Exception as exc:  # any transport error means "not ready"; the type says which
        return f"unavailable: {type(exc).__name__}"
