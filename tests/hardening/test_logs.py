"""Logs with nothing to leak: a full suite of calls at DEBUG, every line scanned for what was sent.

The real app runs with auth on, the production logging setup (``_logging.configure("DEBUG")``) and
a real FHIR server on loopback. The calls carry patient names, a birth date, a phone number,
free-text notes and dosage text, an access token in fhirAuthorization and JWTs in Authorization;
they end in 200, 400, 401, 404, 412 and 413. No captured line may contain any of those values, and
every hook call leaves exactly one structured line with its outcome.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from service import _logging
from tests.cds_hooks.support import SigningKey, jwks, make_token
from tests.fhir_server import FhirServer, searchset
from tests.hardening.bodies import (
    BIRTH_DATE,
    DOSAGE_TEXT,
    NAME_FAMILY,
    NAME_GIVEN,
    NOTE_TEXT,
    OSEL,
    PATIENT_ID,
    PHONE,
    PV,
    condition,
    fetching,
    hook_body,
    patient,
)
from tests.hardening.conftest import MakeApp

ISSUER = "https://ehr.example.org"
BASE = "http://testserver"
ACCESS_TOKEN = "fhir-access-token-Qm9uZUhlYWx0aA"
COMMENT = "Overrode because Mrs Philomenatrix refuses pills"


class Lines(logging.Handler):
    """Every record, formatted exactly as production writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(_logging.JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Lines]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in _logging.QUIET_LOGGERS})
    _logging.configure("DEBUG")
    lines = Lines()
    root.addHandler(lines)
    try:
        yield lines
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey(ec.generate_private_key(ec.SECP384R1()), "ES384", "log-key")


def _client(make_app: MakeApp, fhir: FhirServer, key: SigningKey, tmp_path: Path) -> TestClient:
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(key)))
    fhir.on(f"/fhir/Condition?patient={PATIENT_ID}", lambda ex: ex.json(searchset(condition())))
    fhir.on(f"/fhir/Observation?patient={PATIENT_ID}", lambda ex: ex.send(500, b"{}"))
    fhir.on(f"/fhir/Procedure?patient={PATIENT_ID}", lambda ex: ex.hang())
    return make_app(
        auth_enabled=True,
        auth_issuers={ISSUER: {"jwks": str(keys), "fhir_servers": [fhir.base + "/fhir"]}},
        fhir_timeout_seconds=0.3,
        hook_deadline_ms=2000,
        max_body_bytes=2_000_000,
    )


def test_no_line_holds_a_token_or_patient_data(
    make_app: MakeApp, fhir: FhirServer, key: SigningKey, tmp_path: Path, captured: Lines
) -> None:
    client = _client(make_app, fhir, key, tmp_path)
    jwts: list[str] = []

    def auth(path: str, signer: SigningKey = key, **claims: Any) -> dict[str, str]:
        token = make_token(signer, BASE + path, iss=ISSUER, **claims)
        jwts.append(token)
        return {"Authorization": f"Bearer {token}"}

    def fetch(missing: str) -> dict[str, Any]:
        return fetching(fhir.base, ACCESS_TOKEN, missing=missing)

    outcome_instead = fetch("conditions")  # the EHR failed to prefetch, and says why in free text
    outcome_instead["prefetch"]["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": NAME_FAMILY, "diagnostics": NOTE_TEXT}],
    }
    bad_birth_date = hook_body()
    bad_birth_date["prefetch"]["patient"] = {**patient(), "birthDate": f"{NAME_GIVEN}-{BIRTH_DATE}"}
    replayed = auth(PV)
    stranger = SigningKey(ec.generate_private_key(ec.SECP384R1()), "ES384", key.kid)
    huge = hook_body()
    huge["prefetch"]["patient"]["name"] = [{"text": NAME_FAMILY * 200_000}]
    feedback = {
        "feedback": [
            {
                "card": str(uuid.uuid4()),
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-27T09:00:00Z",
                "overrideReason": {"userComment": COMMENT},
            }
        ]
    }

    calls: list[tuple[str, Any, int, str]] = [
        ("hook", client.post(PV, json=hook_body(), headers=auth(PV)), 200, "ok"),
        ("hook", client.post(OSEL, json=hook_body("order-select"), headers=auth(OSEL)), 200, "ok"),
        ("hook", client.post(PV, json=fetch("conditions"), headers=auth(PV)), 200, "ok"),
        ("hook", client.post(PV, json=outcome_instead, headers=auth(PV)), 200, "ok"),
        ("hook", client.post(PV, json=fetch("observations"), headers=auth(PV)), 412, "unavailable"),
        ("hook", client.post(PV, json=fetch("procedures"), headers=auth(PV)), 412, "timeout"),
        ("hook", client.post(PV, json=bad_birth_date, headers=auth(PV)), 400, "invalid"),
        ("hook", client.post(PV, content=f"{NAME_GIVEN} {BIRTH_DATE}".encode(), headers=auth(PV)), 400, "invalid"),
        ("hook", client.post(PV, json=hook_body()), 401, "unauthorized"),
        ("hook", client.post(PV, json=hook_body(), headers=auth(PV, signer=stranger)), 401, "unauthorized"),
        ("hook", client.post(PV, json=hook_body(), headers=auth(PV, exp=int(time.time()) - 600)), 401, "unauthorized"),
        ("hook", client.post(PV, json=hook_body(), headers=replayed), 200, "ok"),
        ("hook", client.post(PV, json=hook_body(), headers=replayed), 401, "unauthorized"),
        ("hook", client.post("/cds-services/nope", json=hook_body(), headers=auth("/cds-services/nope")), 404, "not-found"),
        ("hook", client.post(PV, json=huge, headers=auth(PV)), 413, "too-large"),
        ("feedback", client.post(PV + "/feedback", json=feedback, headers=auth(PV + "/feedback")), 200, ""),
        ("reminders", client.get("/reminders", params={"patient": PATIENT_ID}, headers=auth("/reminders")), 200, ""),
        ("reminders", client.get("/reminders", params={"patient": PATIENT_ID}), 401, ""),
    ]  # fmt: skip

    assert [r.status_code for _, r, _, _ in calls] == [status for _, _, status, _ in calls]
    secrets = [ACCESS_TOKEN, NAME_FAMILY, NAME_GIVEN, BIRTH_DATE, PHONE, NOTE_TEXT, DOSAGE_TEXT, COMMENT]
    secrets += jwts + [part for token in jwts for part in token.split(".")]
    assert len(captured.lines) > 20
    leaks = [(secret[:24], line[:200]) for line in captured.lines for secret in secrets if secret in line]
    assert leaks == []

    hook_lines = [json.loads(line) for line in captured.lines if json.loads(line)["msg"] == "hook call"]
    expected = [outcome for kind, _, _, outcome in calls if kind == "hook"]
    assert [line["outcome"] for line in hook_lines] == expected
    first = hook_lines[0]
    assert first["service"] == "bone-health-patient-view" and first["issuer"] == ISSUER
    assert first["status"] == 200 and first["latency_ms"] > 0 and first["topics"]
    assert uuid.UUID(first["hook_instance"])
    unauthorized = hook_lines[expected.index("unauthorized")]
    assert unauthorized["issuer"] is None and unauthorized["hook_instance"] is None


def test_an_unexpected_error_is_logged_without_its_message(captured: Lines) -> None:
    """Exception messages can quote patient data (pydantic's input_value=...): types and frames only."""
    try:
        try:
            raise ValueError(f"birthDate {BIRTH_DATE!r} of {NAME_FAMILY}")
        except ValueError as inner:
            raise RuntimeError(f"while reading {NAME_GIVEN}") from inner
    except RuntimeError:
        logging.getLogger("bone_health_cds.test").exception("failed")

    line = json.loads(captured.lines[-1])
    assert "RuntimeError" in line["exc"] and "ValueError" in line["exc"] and "test_logs.py" in line["exc"]
    assert not any(secret in captured.lines[-1] for secret in (BIRTH_DATE, NAME_FAMILY, NAME_GIVEN))


def test_sql_statements_stay_out_of_debug_logs(captured: Lines) -> None:
    assert logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO) is False
    assert logging.getLogger("bone_health_cds").isEnabledFor(logging.DEBUG) is True
