"""From a chart opened to a FHIR Task: hook → reminder row → dispatcher → real worker → loopback FHIR.

Real PostgreSQL, a real broker (Redis, and RabbitMQ with Redis beside it for the JWT replay cache),
a real Celery worker process. A woman whose last Prolia injection
was 190 days ago is due her next dose (due D + 183, a week ago): the patient-view creates the
reminder, one dispatcher pass delivers exactly one Task; opening the chart again and dispatching
again delivers nothing new. Sequencing (due D + 213, in 23 days) and the next monitoring labs stay
pending.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kombu import Connection

from service.app import create_app
from service.reminders.runner import dispatch_once
from service.settings import Settings
from tests.conftest import service_unavailable
from tests.fhir_server import FhirServer, running_fhir_server
from tests.service.persistence.databases import drop_redis_namespace, pg_url, redis_url, truncate_postgres
from tests.service.reminders.workers import Worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]
__all__ = ["pg_url", "redis_url"]  # fixtures

PATIENT = "e2e-denosumab"
STARTED = datetime.now(UTC)


def _at(days_ago: int) -> str:
    return (STARTED - timedelta(days=days_ago)).isoformat()


def _lab(rid: str, loinc: str, value: float, unit: str, days_ago: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": _at(days_ago),
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _patient_view() -> dict[str, Any]:
    subject = {"reference": f"Patient/{PATIENT}"}
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": PATIENT},
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": PATIENT,
                "gender": "female",
                "birthDate": "1948-02-11",
            },
            "conditions": _bundle(
                {
                    "resourceType": "Condition",
                    "id": "op",
                    "subject": subject,
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "64859006"}]},
                }
            ),
            "observations": _bundle(  # monitoring is up to date, so only the denosumab topics are due
                _lab("ca", "17861-6", 9.3, "mg/dL", 40),
                _lab("egfr", "98979-8", 62, "mL/min/{1.73_m2}", 40),
                _lab("ctx", "41171-0", 0.3, "ng/mL", 40),
            ),
            "medicationAdministrations": _bundle(
                {
                    "resourceType": "MedicationAdministration",
                    "id": "prolia-1",
                    "status": "completed",
                    "subject": subject,
                    "effectiveDateTime": _at(190),
                    "medicationCodeableConcept": {
                        "coding": [
                            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "993456"}
                        ]
                    },
                }
            ),
            "medicationRequests": None,
            "medicationStatements": None,
            "medicationDispenses": None,
            "procedures": None,
        },
    }


RABBITMQ_URL = os.environ.get("BHCDS_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def rabbitmq_reachable() -> bool:
    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:  # any transport error: not reachable
        return False


def drop_rabbitmq_namespace(namespace: str) -> None:
    """The queue and exchanges this run declared (their names carry the namespace)."""
    with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
        channel = conn.default_channel
        channel.queue_delete(f"{namespace}.reminders")
        control = f"{namespace}.control.pidbox"  # Celery's names for the control exchange
        for exchange in (f"{namespace}.reminders", control, f"reply.{control}", f"{namespace}.events"):
            channel.exchange_delete(exchange)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, redis_url: str) -> Iterator[tuple[str, str]]:
    """(broker URL, namespace): each run's queues and keys are its own, so parallel runs do not meet."""
    namespace = f"bhcds-e2e-{uuid.uuid4().hex[:10]}"
    if request.param == "redis":
        yield redis_url, namespace
        drop_redis_namespace(namespace)
        return
    if not rabbitmq_reachable():
        service_unavailable("RabbitMQ at 127.0.0.1:5672")
    yield RABBITMQ_URL, namespace
    drop_rabbitmq_namespace(namespace)
    drop_redis_namespace(namespace)


@pytest.fixture
def deployment(
    pg_url: str, redis_url: str, broker: tuple[str, str], tmp_path: Path
) -> Iterator[tuple[Settings, FhirServer]]:
    broker_url, namespace = broker
    truncate_postgres(pg_url)
    with running_fhir_server() as fhir:
        settings = Settings(
            auth_enabled=False,
            database_url=pg_url,
            broker_url=broker_url,
            redis_url=redis_url,  # the JWT replay cache: Redis, whichever the broker
            celery_namespace=namespace,
            fhir_base_url=fhir.url,
            reminder_recheck_chart=False,  # this loopback server serves Tasks, not charts
            delivery_backoff_seconds=0.05,
        )
        worker = Worker(settings, tmp_path / "worker.log")
        try:
            worker.wait_ready()
            yield settings, fhir
        finally:
            worker.stop()


def _open_chart(settings: Settings) -> set[str]:
    with TestClient(create_app(settings)) as client:
        response = client.post("/cds-services/bone-health-patient-view", json=_patient_view())
        assert response.status_code == 200, response.text
        return {c["source"]["topic"]["code"] for c in response.json()["cards"]}


def _reminders(settings: Settings) -> dict[str, str]:
    with TestClient(create_app(settings)) as client:
        rows = client.get("/reminders", params={"patient": PATIENT}).json()
    rows = rows if isinstance(rows, list) else rows["reminders"]
    return {r["topic"]: r["status"] for r in rows}


def test_a_due_dose_becomes_exactly_one_task(deployment: tuple[Settings, FhirServer]) -> None:
    settings, fhir = deployment
    assert "denosumab-dose-due" in _open_chart(settings)
    # the dose is due. A continuing course has no sequencing reminder (sequencing is about a stopped
    # course), and the next monitoring labs (day 366 after them) would fall due after D + 365, when this
    # dose no longer calls for monitoring: no date (rules.md r3)
    assert _reminders(settings) == {
        "denosumab-dose-due": "pending",
    }

    assert dispatch_once(settings) == 1
    wait_for(lambda: _reminders(settings)["denosumab-dose-due"] == "delivered", timeout=30)
    assert fhir.task_count() == 1
    task = next(iter(fhir.tasks.values()))
    assert task["code"]["coding"][0]["code"] == "denosumab-dose-due"
    assert task["for"]["reference"] == f"Patient/{PATIENT}"

    _open_chart(settings)  # the same evaluation again: the same reminder, not a new one
    assert dispatch_once(settings) == 0
    assert fhir.task_count() == 1 and fhir.posts_for(PATIENT) == 1
    assert _reminders(settings) == {"denosumab-dose-due": "delivered"}
