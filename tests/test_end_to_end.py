"""The real server process, over HTTP, fetching from a real FHIR server on loopback.

No mocks: `bone-health-cds serve` runs as a subprocess; a small FHIR server in this process answers
the searches the service makes when the EHR sends no prefetch, with a paginated Observation search.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fhir_server import FhirServer, running_fhir_server

TOKEN = "fhir-access-token-e2e"
PATIENT = "den-1"
TODAY = datetime.now(UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chart() -> dict[str, list[dict[str, Any]]]:
    """A woman with T2DM and osteoporosis whose last Prolia injection was 190 days ago."""
    last_dose = (TODAY - timedelta(days=190)).date().isoformat()
    subject = {"reference": f"Patient/{PATIENT}"}
    labs = [
        {
            "resourceType": "Observation",
            "id": f"ca-{i}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "17861-6"}]},
            "subject": subject,
            "effectiveDateTime": (TODAY - timedelta(days=400 + i)).isoformat(),
            "valueQuantity": {
                "value": 9.4,
                "unit": "mg/dL",
                "system": "http://unitsofmeasure.org",
                "code": "mg/dL",
            },
        }
        for i in range(3)
    ]
    return {
        "Patient": [
            {"resourceType": "Patient", "id": PATIENT, "gender": "female", "birthDate": "1950-05-01"}
        ],
        "Condition": [
            {
                "resourceType": "Condition",
                "id": "c1",
                "subject": subject,
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            },
            {
                "resourceType": "Condition",
                "id": "c2",
                "subject": subject,
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "64859006"}]},
            },
        ],
        "Observation": labs,
        "MedicationRequest": [],
        "MedicationStatement": [],
        "MedicationDispense": [],
        "Procedure": [],
        "MedicationAdministration": [
            {
                "resourceType": "MedicationAdministration",
                "id": "ma1",
                "status": "completed",
                "subject": subject,
                "effectiveDateTime": last_dose,
                "medicationCodeableConcept": {
                    "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "993456"}],
                    "text": "Prolia 60 mg",
                },
            }
        ],
    }


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    """Answers patient-scoped searches with the token only; Observation comes in pages of one."""
    with running_fhir_server(
        FhirServer(resources=_chart(), page_sizes={"Observation": 1}, token=TOKEN)
    ) as server:
        yield server


def _start(
    tmp_path: Path, env_extra: dict[str, str], *extra_args: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "BHCDS_DATABASE_URL": f"sqlite:///{tmp_path}/e2e.db",
        **env_extra,
    }
    env.pop("BHCDS_BROKER_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--no-workers", *extra_args],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start within 30 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and close its pipes (communicate reads and closes them)."""
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def _patient_view(fhir: FhirServer) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": fhir.url,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "bone-health-cds",
        },
        "context": {"userId": "Practitioner/1", "patientId": f"Patient/{PATIENT}"},
    }


def test_patient_view_fetches_from_the_fhir_server_and_answers_cards(
    tmp_path: Path, fhir: FhirServer
) -> None:
    proc, base = _start(tmp_path, {"BHCDS_AUTH_ENABLED": "false"})
    try:
        discovery = httpx.get(f"{base}/cds-services").json()
        assert {s["id"] for s in discovery["services"]} == {
            "bone-health-patient-view",
            "bone-health-order-select",
            "bone-health-order-sign",
        }
        response = httpx.post(
            f"{base}/cds-services/bone-health-patient-view", json=_patient_view(fhir), timeout=10
        )
        assert response.status_code == 200, response.text
        topics = {c["source"]["topic"]["code"] for c in response.json()["cards"]}
        assert "denosumab-dose-due" in topics
        assert "monitoring-overdue" in topics  # calcium last done 400 days ago, on denosumab
        paths = fhir.paths()
        assert any("_page=2" in p for p in paths), "the Observation search's next links were followed"
        assert all(seen.headers.get("authorization") == f"Bearer {TOKEN}" for seen in fhir.seen)
        reminders = httpx.get(f"{base}/reminders", params={"patient": PATIENT}).json()
        rows = reminders if isinstance(reminders, list) else reminders["reminders"]
        assert "denosumab-dose-due" in {r["topic"] for r in rows}
    finally:
        _stop(proc)


def test_with_auth_on_a_signed_request_passes_and_an_unsigned_one_is_refused(
    tmp_path: Path, fhir: FhirServer
) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "alg": "ES384", "use": "sig"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    issuer = "https://ehr.example.org"
    proc, base = _start(
        tmp_path,
        {
            "BHCDS_AUTH_ENABLED": "true",
            "BHCDS_AUTH_ISSUERS": json.dumps({issuer: {"jwks": str(jwks), "fhir_servers": [fhir.url]}}),
        },
    )
    try:
        url = f"{base}/cds-services/bone-health-patient-view"
        assert httpx.post(url, json=_patient_view(fhir)).status_code == 401
        now = int(time.time())
        token = jwt.encode(
            {"iss": issuer, "sub": "ehr", "aud": url, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())},
            key,
            algorithm="ES384",
            headers={"kid": "k1"},
        )
        response = httpx.post(
            url, json=_patient_view(fhir), headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        assert "denosumab-dose-due" in {c["source"]["topic"]["code"] for c in response.json()["cards"]}
        replay = httpx.post(url, json=_patient_view(fhir), headers={"Authorization": f"Bearer {token}"})
        assert replay.status_code == 401, "a replayed jti is refused"
    finally:
        _stop(proc)


def test_serve_with_two_api_processes_answers_every_hook(tmp_path: Path, fhir: FhirServer) -> None:
    proc, base = _start(tmp_path, {"BHCDS_AUTH_ENABLED": "false"}, "--workers", "2")
    try:
        for _ in range(6):  # spread over both processes
            response = httpx.post(
                f"{base}/cds-services/bone-health-patient-view", json=_patient_view(fhir), timeout=10
            )
            assert response.status_code == 200, response.text
            assert "denosumab-dose-due" in {c["source"]["topic"]["code"] for c in response.json()["cards"]}
    finally:
        _stop(proc)
