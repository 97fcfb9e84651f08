"""One delivery attempt against a real loopback FHIR server (no Celery here; see test_worker.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import ssl
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.task import Task
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import ReminderStatus
from service.reminders.delivery import Outcome, backoff_seconds, deliver_reminder
from service.settings import Settings
from tests.fhir_server import FhirServer, running_fhir_server
from tests.service.reminders.helpers import NOW, TODAY, add_reminder, reminder


def _settings(**overrides: Any) -> Settings:
    return Settings(delivery_backoff_seconds=0.5, delivery_max_attempts=3, **overrides)


def _claimed(factory: sessionmaker[Session], patient: str = "p1") -> int:
    return add_reminder(
        factory, patient, TODAY - timedelta(days=2), status=ReminderStatus.CLAIMED, claimed_at=NOW
    )


def test_posts_a_valid_task_with_conditional_create(factory: sessionmaker[Session], fhir: FhirServer) -> None:
    rid = _claimed(factory)
    settings = _settings(fhir_base_url=fhir.url, fhir_token="secret-token")
    assert deliver_reminder(factory, rid, settings, now=NOW).outcome is Outcome.DELIVERED

    post = fhir.posts[0]
    due = (TODAY - timedelta(days=2)).isoformat()
    assert post["headers"]["if-none-exist"] == (
        f"identifier=urn:bone-health-cds:reminder|p1\\|denosumab-dose-due\\|{due}"
    )
    assert post["headers"]["authorization"] == "Bearer secret-token"
    task = post["body"]
    Task.model_validate(task)
    assert (task["status"], task["intent"], task["for"]) == ("requested", "plan", {"reference": "Patient/p1"})
    assert task["code"]["coding"] == [{"system": "urn:bone-health-cds:rule", "code": "denosumab-dose-due"}]
    assert task["executionPeriod"] == {"start": due}
    assert task["identifier"] == [
        {"system": "urn:bone-health-cds:reminder", "value": f"p1|denosumab-dose-due|{due}"}
    ]
    assert task["description"] == "Next denosumab dose is due"
    row = reminder(factory, rid)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)
    assert row.delivered_at is not None


def test_a_delivered_reminder_is_never_sent_again(factory: sessionmaker[Session], fhir: FhirServer) -> None:
    rid = _claimed(factory)
    settings = _settings(fhir_base_url=fhir.url)
    deliver_reminder(factory, rid, settings)
    assert deliver_reminder(factory, rid, settings).outcome is Outcome.SKIPPED
    assert len(fhir.posts) == 1 and reminder(factory, rid).attempts == 1


def test_redelivery_after_a_lost_answer_makes_no_second_task(
    factory: sessionmaker[Session], fhir: FhirServer
) -> None:
    rid = _claimed(factory)
    settings = _settings(fhir_base_url=fhir.url)
    deliver_reminder(factory, rid, settings)
    # The worker died after the server created the Task: the row is claimed again and resent.
    with factory.begin() as session:
        session.get_one(type(reminder(factory, rid)), rid).status = "claimed"
    assert deliver_reminder(factory, rid, settings).outcome is Outcome.DELIVERED
    assert len(fhir.posts) == 2 and fhir.task_count() == 1


@pytest.mark.parametrize("status", [503, 500, 429])
def test_server_errors_and_throttling_are_retried(
    factory: sessionmaker[Session], fhir: FhirServer, status: int
) -> None:
    rid = _claimed(factory)
    fhir.script["p1"] = [status]
    result = deliver_reminder(factory, rid, _settings(fhir_base_url=fhir.url))
    assert result.outcome is Outcome.RETRY and result.retry_in is not None and 0 < result.retry_in <= 0.5
    row = reminder(factory, rid)
    assert (row.status, row.attempts) == ("claimed", 1)
    assert row.last_error is not None and str(status) in row.last_error


def test_client_error_fails_at_once(factory: sessionmaker[Session], fhir: FhirServer) -> None:
    rid = _claimed(factory)
    fhir.script["p1"] = [400]
    assert deliver_reminder(factory, rid, _settings(fhir_base_url=fhir.url)).outcome is Outcome.FAILED
    row = reminder(factory, rid)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error is not None and "HTTP 400" in row.last_error


def test_out_of_attempts_fails(factory: sessionmaker[Session], fhir: FhirServer) -> None:
    rid = _claimed(factory)
    fhir.script["p1"] = [503, 503, 503, 503]
    settings = _settings(fhir_base_url=fhir.url)  # 3 attempts
    outcomes = [deliver_reminder(factory, rid, settings).outcome for _ in range(3)]
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]
    assert (reminder(factory, rid).status, reminder(factory, rid).attempts) == ("failed", 3)


def test_connection_refused_is_transient(factory: sessionmaker[Session]) -> None:
    rid = _claimed(factory)
    result = deliver_reminder(factory, rid, _settings(fhir_base_url="http://127.0.0.1:9/fhir"))
    assert result.outcome is Outcome.RETRY
    assert "connection error" in (reminder(factory, rid).last_error or "")


def test_unconfigured_delivery_keeps_the_reminder_pending_and_says_so(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    rid = _claimed(factory)
    with caplog.at_level(logging.WARNING):
        assert deliver_reminder(factory, rid, Settings()).outcome is Outcome.NOT_CONFIGURED
    assert reminder(factory, rid).status == "pending"
    assert "reminder delivery is not configured" in caplog.text


@pytest.fixture
def webhook() -> Iterator[FhirServer]:
    """A webhook receiver on loopback: every POST is answered 204 and recorded in ``seen``."""
    with running_fhir_server(FhirServer(default=lambda exchange: exchange.send(204, b""))) as server:
        yield server


def test_webhook_body_is_signed(factory: sessionmaker[Session], webhook: FhirServer) -> None:
    rid = _claimed(factory)
    settings = _settings(reminder_webhook_url=webhook.base + "/hook", reminder_webhook_secret="shh")
    assert deliver_reminder(factory, rid, settings).outcome is Outcome.DELIVERED
    headers, body = webhook.seen[0].headers, webhook.seen[0].body
    expected = hmac.new(b"shh", body, hashlib.sha256).hexdigest()
    assert headers["x-bhcds-signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert (payload["patient"], payload["topic"]) == ("p1", "denosumab-dose-due")
    assert payload["task"]["resourceType"] == "Task"


def test_backoff_grows_exponentially_and_is_capped() -> None:
    settings = Settings(delivery_backoff_seconds=2.0, delivery_backoff_max_seconds=10.0)
    assert max(backoff_seconds(1, settings) for _ in range(200)) <= 2.0
    assert max(backoff_seconds(3, settings) for _ in range(200)) > 2.0  # up to 8 s with jitter
    assert max(backoff_seconds(9, settings) for _ in range(200)) <= 10.0


def test_a_delivery_costs_two_statements(factory: sessionmaker[Session], fhir: FhirServer) -> None:
    """Count the attempt and read the row back in one UPDATE … RETURNING, then mark it delivered."""
    rid = _claimed(factory)
    statements: list[str] = []
    engine = factory.kw["bind"]

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        outcome = deliver_reminder(factory, rid, _settings(fhir_base_url=fhir.url), now=NOW).outcome
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert outcome is Outcome.DELIVERED
    assert statements == ["UPDATE", "UPDATE"]
    row = reminder(factory, rid)
    assert (row.status, row.attempts) == ("delivered", 1)


def test_deliveries_share_one_tls_context(
    factory: sessionmaker[Session], fhir: FhirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the CA bundle costs more than a delivery: it is done once per process, not per client."""
    loads: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    settings = _settings(fhir_base_url=fhir.url)
    for patient in ("t1", "t2", "t3"):
        assert (
            deliver_reminder(factory, _claimed(factory, patient), settings, now=NOW).outcome
            is Outcome.DELIVERED
        )
    assert len(loads) <= 1  # once if no delivery in this process came first, else never
