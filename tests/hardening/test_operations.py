"""Operations: readiness follows the database and the broker down and back up, hooks keep answering
while either is down (and the logs and metrics say so), /reminders needs the hooks' JWT, and a
SIGTERM lets an in-flight hook finish.

"Down" is a TCP proxy of ours in front of the machine's PostgreSQL or Redis, stopped and restarted
on the same port: the shared servers themselves are never touched.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from cds_hooks._replay import _name
from service.persistence import make_engine, session_factory
from service.persistence.models import HookAudit
from tests.cds_hooks.support import SigningKey, jwks, make_token
from tests.conftest import service_unavailable
from tests.fhir_server import FhirServer, searchset
from tests.hardening.bodies import PATIENT_ID, PV, condition, fetching, hook_body
from tests.hardening.conftest import MakeApp
from tests.hardening.servers import TcpProxy, free_port
from tests.service.persistence.databases import (
    PG_SERVER,
    REDIS_URL,
    postgres_reachable,
    postgres_schema,
    redis_reachable,
)

ISSUER = "https://ehr.example.org"
BASE = "http://testserver"
REPO = Path(__file__).resolve().parents[2]


def metric(client: TestClient, name: str, **labels: str) -> float:
    """The current value of one Prometheus sample, 0 when it has none yet."""
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in client.get("/metrics").text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == wanted:
            return float(value)
    return 0.0


@pytest.fixture
def key(tmp_path: Path) -> tuple[SigningKey, Path]:
    signing = SigningKey(ec.generate_private_key(ec.SECP384R1()), "ES384", "ops-key")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(signing)))
    return signing, path


def bearer(signing: SigningKey, path: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(signing, BASE + path, iss=ISSUER, **claims)}"}


# --- the database --------------------------------------------------------------------------------

FEEDBACK = {
    "feedback": [
        {
            "card": "9d4e1b2c-0000-4000-8000-000000000001",
            "outcome": "accepted",
            "outcomeTimestamp": "2026-11-27T09:00:00Z",
        }
    ]
}


@pytest.fixture
def pg_proxy() -> Iterator[tuple[TcpProxy, str]]:
    if not postgres_reachable():
        service_unavailable("PostgreSQL at 127.0.0.1:5432")
    server = make_url(PG_SERVER)
    with postgres_schema() as url:
        proxy = TcpProxy((server.host or "127.0.0.1", server.port or 5432))
        proxy.start()
        try:
            yield proxy, url.replace(f"{server.host}:{server.port}", f"127.0.0.1:{proxy.port}", 1)
        finally:
            proxy.stop()


@pytest.mark.services
def test_readyz_follows_the_database_down_and_back_and_hooks_keep_their_cards(
    make_app: MakeApp, pg_proxy: tuple[TcpProxy, str], caplog: pytest.LogCaptureFixture
) -> None:
    proxy, url = pg_proxy
    client = make_app(database_url=url)
    assert client.get("/readyz").status_code == 200
    with_cards = client.post("/cds-services/bone-health-order-select", json=hook_body("order-select"))
    writes = client.app.state.bone_health.writes  # type: ignore[attr-defined]
    assert writes.settled()
    failures_before = metric(client, "bhcds_reminder_scheduling_failures_total")
    retries_before = metric(client, "bhcds_write_retries_total", kind="audit")

    proxy.stop()
    with caplog.at_level(logging.INFO):
        down = client.get("/readyz")
        during_body = hook_body("order-select")
        during = client.post("/cds-services/bone-health-order-select", json=during_body)
        feedback_down = client.post("/cds-services/bone-health-order-select/feedback", json=FEEDBACK)

    assert feedback_down.status_code == 503, feedback_down.text  # retryable, not a 500
    assert feedback_down.headers["Retry-After"] and feedback_down.json()["resourceType"] == "OperationOutcome"
    assert down.status_code == 503
    assert down.json()["database"].startswith("unavailable") and down.json()["broker"].startswith("ok")
    assert during.status_code == 200
    assert [c["source"]["topic"] for c in during.json()["cards"]] == [
        c["source"]["topic"] for c in with_cards.json()["cards"]
    ]
    assert not writes.settled(timeout=0.5)  # the call's writes wait for the database, retried
    assert metric(client, "bhcds_write_retries_total", kind="audit") > retries_before
    assert metric(client, "bhcds_writes_pending") == 3  # reminders, cards issued, audit
    assert metric(client, "bhcds_dependency_up", dependency="database") == 0
    assert any(r.levelname == "ERROR" and "database unavailable" in r.getMessage() for r in caplog.records)

    proxy.start()
    with caplog.at_level(logging.INFO):
        back = client.get("/readyz")

    assert back.status_code == 200, back.text
    assert writes.settled(timeout=30)  # committed once the database was back: nothing lost
    assert metric(client, "bhcds_reminder_scheduling_failures_total") == failures_before
    engine = make_engine(url)
    with session_factory(engine)() as session:
        audited = session.execute(select(HookAudit.hook_instance)).scalars().all()
    engine.dispose()
    assert during_body["hookInstance"] in audited
    assert client.post("/cds-services/bone-health-order-select/feedback", json=FEEDBACK).status_code == 200
    assert metric(client, "bhcds_dependency_up", dependency="database") == 1
    assert any("database reachable again" in r.getMessage() for r in caplog.records)


# --- the broker ----------------------------------------------------------------------------------


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    if not redis_reachable():
        service_unavailable("Redis at 127.0.0.1:6379")
    target = urlsplit(REDIS_URL)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 6379))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.mark.services
def test_with_the_broker_down_hooks_still_answer_and_logs_and_metrics_say_so(
    make_app: MakeApp,
    redis_proxy: TcpProxy,
    key: tuple[SigningKey, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    signing, jwks_path = key
    client = make_app(
        auth_enabled=True,
        auth_issuers={ISSUER: str(jwks_path)},
        broker_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
    )
    assert client.get("/readyz").status_code == 200
    assert client.post(PV, json=hook_body(), headers=bearer(signing, PV)).status_code == 200
    fallbacks = metric(client, "bhcds_replay_cache_fallback_total")

    redis_proxy.stop()
    token = bearer(signing, PV)
    with caplog.at_level(logging.INFO):
        ready = client.get("/readyz")
        served = client.post(PV, json=hook_body(), headers=token)
        replayed = client.post(PV, json=hook_body(), headers=token)

    assert ready.status_code == 503 and ready.json()["broker"].startswith("unavailable")
    assert served.status_code == 200, served.text
    assert replayed.status_code == 401  # still single-use within this process
    assert metric(client, "bhcds_replay_cache_fallback_total") >= fallbacks + 2
    assert metric(client, "bhcds_dependency_up", dependency="broker") == 0
    messages = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("broker unavailable" in m for m in messages)
    assert any("replay cache unreachable" in m for m in messages)

    redis_proxy.start()
    after = bearer(signing, PV)
    with caplog.at_level(logging.INFO):
        assert client.get("/readyz").status_code == 200
        assert client.post(PV, json=hook_body(), headers=after).status_code == 200

    jti = json.loads(_payload(after["Authorization"].removeprefix("Bearer ")))["jti"]
    assert redis.Redis.from_url(REDIS_URL).exists(_name(ISSUER, jti)) == 1  # shared again
    assert any("replay cache reachable again" in r.getMessage() for r in caplog.records)


def _payload(token: str) -> str:
    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


# --- /reminders ------------------------------------------------------------------------------------


def test_reminders_need_the_hooks_jwt_when_auth_is_on(
    make_app: MakeApp, key: tuple[SigningKey, Path]
) -> None:
    signing, jwks_path = key
    secured = make_app(auth_enabled=True, auth_issuers={ISSUER: str(jwks_path)})
    query = {"patient": PATIENT_ID}

    assert secured.get("/reminders", params=query).status_code == 401
    assert secured.get("/reminders", params=query, headers=bearer(signing, PV)).status_code == 401  # aud
    assert secured.get("/reminders", params=query, headers=bearer(signing, "/reminders")).status_code == 200
    assert make_app().get("/reminders", params=query).status_code == 200  # auth off: a local demo


def test_suppressions_need_the_hooks_jwt_when_auth_is_on(
    make_app: MakeApp, key: tuple[SigningKey, Path]
) -> None:
    signing, jwks_path = key
    secured = make_app(auth_enabled=True, auth_issuers={ISSUER: str(jwks_path)})
    query = {"patient": PATIENT_ID}

    assert secured.get("/suppressions", params=query).status_code == 401
    assert secured.delete("/suppressions/1").status_code == 401
    assert secured.get("/suppressions", params=query, headers=bearer(signing, PV)).status_code == 401  # aud
    ok = secured.get("/suppressions", params=query, headers=bearer(signing, "/suppressions"))
    assert (ok.status_code, ok.json()) == (200, [])
    gone = secured.delete("/suppressions/1", headers=bearer(signing, "/suppressions/1"))
    assert gone.status_code == 404  # past the JWT: no such suppression


# --- graceful shutdown ---------------------------------------------------------------------------


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    script = Path(sys.executable).with_name("bone-health-cds")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]
    env = {
        **os.environ,
        "BHCDS_AUTH_ENABLED": "false",
        "BHCDS_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
    }
    env.pop("BHCDS_BROKER_URL", None)
    proc = subprocess.Popen(
        [*command, "serve", "--no-workers", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "server exited")
        try:
            if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start within 30 s")


@pytest.mark.slow
def test_sigterm_lets_an_in_flight_hook_finish(tmp_path: Path, fhir: FhirServer) -> None:
    def slow_search(exchange: Any) -> None:
        exchange.stop.wait(1.5)
        exchange.json(searchset(condition()))

    fhir.on(f"/fhir/Condition?patient={PATIENT_ID}", slow_search)
    proc, base = _serve(tmp_path)
    answer: dict[str, Any] = {}

    def call() -> None:
        try:
            answer["response"] = httpx.post(base + PV, json=fetching(fhir.base, "t"), timeout=15)
        except httpx.HTTPError as exc:
            answer["error"] = exc

    caller = threading.Thread(target=call)
    try:
        caller.start()
        deadline = time.monotonic() + 10
        while not fhir.seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fhir.seen, "the hook never reached the FHIR server"
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.TransportError):  # no new work is taken while draining
            httpx.get(base + "/healthz", timeout=1)
        caller.join(timeout=15)

        assert "error" not in answer, answer.get("error")
        assert answer["response"].status_code == 200, answer["response"].text
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    finally:
        if proc.poll() is None:
            proc.kill()
        caller.join(timeout=1)
    log = proc.communicate()[1].decode()  # reads and closes the pipes
    hook_lines = [json.loads(line) for line in log.splitlines() if '"hook call"' in line]
    assert [line["outcome"] for line in hook_lines] == ["ok"]
    assert uuid.UUID(hook_lines[0]["hook_instance"])
