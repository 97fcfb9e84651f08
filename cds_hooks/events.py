"""What the protocol tells the application about its calls, for metrics and alerts.

The protocol writes one log line per hook call itself; an application that wants counters (per
service and outcome) or an alert when JWT replay protection degrades passes an :class:`Observer` to
``mount``. Observers are called on the event loop and must not block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One hook call as it ended. Ids and codes only: no tokens, no patient data."""

    service_id: str | None  # None: not one of the mounted services
    status: int | None  # HTTP status; None when the client went away before an answer
    outcome: str  # ok, invalid, unauthorized, not-found, unavailable, timeout, too-large, error...
    latency_seconds: float
    hook_instance: str | None = None  # None until the body was parsed (never for a 401)
    issuer: str | None = None  # the verified JWT issuer; None with auth off or before verification
    topics: tuple[str, ...] = ()  # source.topic codes of the cards returned


class Observer(Protocol):
    def hook_call(self, record: CallRecord) -> None:
        """Every POST to a hook endpoint, whatever its outcome."""

    def replay_cache_fallback(self) -> None:
        """A token's ``jti`` was checked against this process's memory because the shared cache failed."""


class NoObserver:
    """The default: nothing but the log lines."""

    def hook_call(self, record: CallRecord) -> None:
        return None

    def replay_cache_fallback(self) -> None:
        return None
