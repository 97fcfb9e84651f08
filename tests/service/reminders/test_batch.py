"""A batch of deliveries against a real loopback FHIR server and database (no Celery here; the worker
runs batches in test_batch_worker.py): each reminder ends as single delivery would end it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import Reminder, ReminderStatus
from service.reminders.batch import deliver_batch
from service.reminders.delivery import Outcome
from service.reminders.tasks import delivery_batch_budget, delivery_time_limit
from service.settings import Settings
from tests.fhir_server import FhirServer, running_fhir_server
from tests.service.reminders.helpers import NOW, TODAY, add_reminder, reminder


def _settings(**overrides: Any) -> Settings:
    return Settings(delivery_backoff_seconds=0.5, delivery_max_attempts=3, **overrides)


def _claimed(factory: sessionmaker[Session], patient: str) -> int:
    return add_reminder(
        factory, patient, TODAY - timedelta(days=2), status=ReminderStatus.CLAIMED, claimed_at=NOW
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def test_each_reminder_of_a_batch_ends_as_alone(
    factory: sessionmaker[Session], fhir: FhirServer, client: httpx.Client
) -> None:
    ids = {p: _claimed(factory, p) for p in ("ok1", "busy", "rejected", "gone", "ok2", "ok3")}
    fhir.script["busy"] = [503]
    fhir.script["rejected"] = [400]
    settings = _settings(fhir_base_url=fhir.url)

    def still_due(row: Reminder) -> bool:  # the re-read chart no longer gives "gone"
        return row.patient_id != "gone"

    result = deliver_batch(factory, list(ids.values()), settings, client=client, now=NOW, still_due=still_due)

    outcomes = {p: result.outcomes[rid].outcome for p, rid in ids.items()}
    assert outcomes == {
        "ok1": Outcome.DELIVERED,
        "busy": Outcome.RETRY,
        "rejected": Outcome.FAILED,
        "gone": Outcome.CANCELLED,
        "ok2": Outcome.DELIVERED,
        "ok3": Outcome.DELIVERED,
    }
    retry_in = result.outcomes[ids["busy"]].retry_in
    assert retry_in is not None and 0 < retry_in <= 0.5
    assert result.handed_off == []
    rows = {p: reminder(factory, rid) for p, rid in ids.items()}
    assert {p: (r.status, r.attempts) for p, r in rows.items()} == {
        "ok1": ("delivered", 1),
        "busy": ("claimed", 1),
        "rejected": ("failed", 1),
        "gone": ("cancelled", 1),
        "ok2": ("delivered", 1),
        "ok3": ("delivered", 1),
    }
    assert "HTTP 503" in (rows["busy"].last_error or "")
    assert "HTTP 400" in (rows["rejected"].last_error or "")
    assert rows["ok1"].last_error is None and rows["ok1"].delivered_at is not None
    assert rows["gone"].delivered_at is None
    assert fhir.posts_for("gone") == 0 and fhir.task_count() == 3


def test_a_transient_failure_on_the_last_attempt_fails(
    factory: sessionmaker[Session], fhir: FhirServer, client: httpx.Client
) -> None:
    rid = _claimed(factory, "busy")
    with factory.begin() as session:
        session.get_one(Reminder, rid).attempts = 2  # the batch makes the third of 3
    fhir.script["busy"] = [503]
    result = deliver_batch(factory, [rid], _settings(fhir_base_url=fhir.url), client=client)
    assert result.outcomes[rid].outcome is Outcome.FAILED
    assert (reminder(factory, rid).status, reminder(factory, rid).attempts) == ("failed", 3)


def test_a_batch_delivered_again_sends_nothing_twice(
    factory: sessionmaker[Session], fhir: FhirServer, client: httpx.Client
) -> None:
    ids = [_claimed(factory, f"p{i}") for i in range(5)]
    settings = _settings(fhir_base_url=fhir.url)
    first = deliver_batch(factory, ids, settings, client=client)
    assert first.count(Outcome.DELIVERED) == 5 and len(fhir.posts) == 5
    again = deliver_batch(factory, ids, settings, client=client)
    assert again.count(Outcome.SKIPPED) == 5
    assert len(fhir.posts) == 5 and fhir.task_count() == 5
    assert [reminder(factory, rid).attempts for rid in ids] == [1] * 5


def test_a_batch_whose_worker_died_before_its_outcomes_makes_no_second_task(
    factory: sessionmaker[Session], fhir: FhirServer, client: httpx.Client
) -> None:
    """The Tasks were created, the outcomes never written: the rows are still claimed, sent again,
    and the conditional create makes no second Task."""
    ids = [_claimed(factory, f"p{i}") for i in range(3)]
    settings = _settings(fhir_base_url=fhir.url)
    deliver_batch(factory, ids, settings, client=client)
    with factory.begin() as session:
        for rid in ids:
            session.get_one(Reminder, rid).status = "claimed"
    again = deliver_batch(factory, ids, settings, client=client)
    assert again.count(Outcome.DELIVERED) == 3
    assert len(fhir.posts) == 6 and fhir.task_count() == 3


def test_a_batch_costs_two_commits_whatever_its_size(
    factory: sessionmaker[Session], fhir: FhirServer, client: httpx.Client
) -> None:
    ids = [_claimed(factory, f"p{i}") for i in range(20)]
    statements: list[str] = []
    engine = factory.kw["bind"]

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        result = deliver_batch(factory, ids, _settings(fhir_base_url=fhir.url), client=client, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert result.count(Outcome.DELIVERED) == 20
    assert statements == ["UPDATE", "UPDATE"]  # count the attempts; mark the delivered


def test_reminders_past_the_budget_are_handed_off_uncounted(
    factory: sessionmaker[Session], fhir: FhirServer, client: httpx.Client
) -> None:
    ids = [_claimed(factory, f"p{i}") for i in range(3)]
    result = deliver_batch(factory, ids, _settings(fhir_base_url=fhir.url), client=client, budget=0.0)
    assert result.handed_off == ids and result.outcomes == {}
    assert [(reminder(factory, r).status, reminder(factory, r).attempts) for r in ids] == [("claimed", 0)] * 3
    assert fhir.posts == []


def test_unconfigured_batch_stays_pending(factory: sessionmaker[Session], client: httpx.Client) -> None:
    ids = [_claimed(factory, f"p{i}") for i in range(2)]
    result = deliver_batch(factory, ids, Settings(), client=client)
    assert {r.outcome for r in result.outcomes.values()} == {Outcome.NOT_CONFIGURED}
    assert [reminder(factory, rid).status for rid in ids] == ["pending", "pending"]


def test_webhooks_of_a_batch_are_signed_each(factory: sessionmaker[Session], client: httpx.Client) -> None:
    with running_fhir_server(FhirServer(default=lambda exchange: exchange.send(204, b""))) as hook:
        ids = [_claimed(factory, f"w{i}") for i in range(3)]
        settings = _settings(reminder_webhook_url=hook.base + "/hook", reminder_webhook_secret="shh")
        assert deliver_batch(factory, ids, settings, client=client).count(Outcome.DELIVERED) == 3
        assert len(hook.seen) == 3
        for seen in hook.seen:
            expected = hmac.new(b"shh", seen.body, hashlib.sha256).hexdigest()
            assert seen.headers["x-bhcds-signature"] == f"sha256={expected}"


def test_a_batch_starts_reminders_for_one_delivery_limit_and_at_most_half_the_lease() -> None:
    assert delivery_batch_budget(Settings()) == delivery_time_limit(Settings()) == 80  # lease 900 s
    assert delivery_batch_budget(Settings(reminder_lease_seconds=161)) == 80
    assert delivery_batch_budget(Settings(reminder_lease_seconds=159)) == 79.5
