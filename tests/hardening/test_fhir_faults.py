"""The FHIR server is input too: every way it can misbehave ends in a clear 412 within the deadline.

Each case runs the real app (auth off, SQLite) against a real server on 127.0.0.1 that misbehaves
on purpose, and times the whole call: a hook must never hang the EHR past its deadline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cds_hooks.support import SigningKey, jwks, make_token
from tests.fhir_server import Exchange, FhirServer, searchset
from tests.hardening.bodies import PATIENT_ID, PV, condition, fetching, hook_body
from tests.hardening.conftest import MakeApp
from tests.hardening.servers import gzip_bomb

TOKEN = "fhir-access-token-7f3a9c"
ISSUER = "https://ehr.example.org"
DEADLINE_MS = 1000
MARGIN_S = 0.6  # scheduling slack on a loaded 2-core CI machine
SEARCH = f"/fhir/Condition?patient={PATIENT_ID}"
FAST = {"hook_deadline_ms": DEADLINE_MS, "fhir_timeout_seconds": 0.5}


def call(make_app: MakeApp, fhir: FhirServer, **settings: Any) -> tuple[Any, float]:
    client = make_app(**{**FAST, **settings})
    started = time.monotonic()
    response = client.post(PV, json=fetching(fhir.base, TOKEN))
    return response, time.monotonic() - started


def issue_of(response: Any, status: int = 412) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    return issue


def _page(n: int) -> Any:
    def answer(exchange: Exchange) -> None:
        following = f"{exchange.base}/fhir/Condition?page={n + 1}"
        exchange.json(searchset(condition(f"c{n}"), next_url=following))

    return answer


def endless_chain(fhir: FhirServer, delay: float = 0.0) -> None:
    """Every page links to one more: the server never says it is done."""

    def answer(exchange: Exchange) -> None:
        n = int(exchange.path.rpartition("=")[2]) if "page=" in exchange.path else 0
        if delay and exchange.stop.wait(delay):
            return
        _page(n)(exchange)

    fhir.default = answer


# --- status and body faults ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour, expected",
    [
        (lambda ex: ex.send(500, b'{"resourceType":"OperationOutcome"}'), "HTTP 500"),
        (lambda ex: ex.send(503, b"<html>maintenance</html>"), "HTTP 503"),
        (lambda ex: ex.send(401, b'{"resourceType":"OperationOutcome"}'), "HTTP 401"),
        (lambda ex: ex.send(200, b'{"resourceType": "Bundle", "entry": ['), "malformed JSON"),
        (lambda ex: ex.send(200, b"<html>login page</html>"), "malformed JSON"),
        (lambda ex: ex.send(200, b'{"resourceType":"Bund'[:10], length=500), "unreachable"),
        (lambda ex: ex.send(200, b'"just a string"'), "malformed resource"),
    ],
    ids=["500", "503 html", "401", "truncated JSON", "html", "connection cut mid-body", "not an object"],
)
def test_a_failing_fhir_server_is_a_412_naming_the_key(
    make_app: MakeApp, fhir: FhirServer, behaviour: Any, expected: str
) -> None:
    fhir.on(SEARCH, behaviour)

    response, seconds = call(make_app, fhir)

    issue = issue_of(response)
    assert "conditions" in issue["diagnostics"] and expected in issue["diagnostics"]
    assert seconds < DEADLINE_MS / 1000 + MARGIN_S
    assert fhir.seen[0].headers["authorization"] == f"Bearer {TOKEN}"  # the token went to fhirServer only


def test_an_endless_next_chain_stops_at_the_page_limit(make_app: MakeApp, fhir: FhirServer) -> None:
    endless_chain(fhir)

    response, seconds = call(make_app, fhir, fhir_max_pages=20)

    assert "more than 20 pages" in issue_of(response)["diagnostics"]
    assert len(fhir.seen) == 20
    assert seconds < DEADLINE_MS / 1000 + MARGIN_S


def test_an_endless_slow_next_chain_stops_at_the_deadline(make_app: MakeApp, fhir: FhirServer) -> None:
    """Each page comes just inside the read timeout, so only the deadline can end it."""
    endless_chain(fhir, delay=0.15)

    response, seconds = call(make_app, fhir)

    issue = issue_of(response)
    assert issue["code"] == "timeout" and f"{DEADLINE_MS} ms" in issue["diagnostics"]
    assert DEADLINE_MS / 1000 <= seconds < DEADLINE_MS / 1000 + MARGIN_S
    assert 2 <= len(fhir.seen) < 50


def test_a_slow_drip_server_is_cut_off_at_the_deadline(make_app: MakeApp, fhir: FhirServer) -> None:
    """A byte every 100 ms never trips the 500 ms read timeout; the whole-hook deadline still holds."""
    body = json.dumps(searchset(condition())).encode()  # it never finishes in time anyway
    fhir.on(SEARCH, lambda ex: ex.drip(body, every_seconds=0.1))

    response, seconds = call(make_app, fhir)

    issue = issue_of(response)
    assert issue["code"] == "timeout"
    assert DEADLINE_MS / 1000 <= seconds < DEADLINE_MS / 1000 + MARGIN_S


def test_a_server_that_never_answers_is_a_read_timeout(make_app: MakeApp, fhir: FhirServer) -> None:
    fhir.on(SEARCH, lambda ex: ex.hang())

    response, seconds = call(make_app, fhir)

    issue = issue_of(response)
    assert issue["code"] == "timeout" and "FHIR server timed out" in issue["diagnostics"]
    assert 0.5 <= seconds < 0.5 + MARGIN_S


def test_a_closed_port_is_a_412_at_once(make_app: MakeApp) -> None:
    client = make_app(**FAST)
    started = time.monotonic()

    response = client.post(PV, json=fetching("http://127.0.0.1:9", TOKEN))  # discard port: nothing listens

    assert "unreachable" in issue_of(response)["diagnostics"]
    assert time.monotonic() - started < MARGIN_S


# --- size ----------------------------------------------------------------------------------------


def test_a_response_declaring_more_than_the_limit_is_refused_unread(
    make_app: MakeApp, fhir: FhirServer
) -> None:
    fhir.on(SEARCH, lambda ex: ex.send(200, b"{", length=50_000_000))  # says 50 MB, sends one byte

    response, seconds = call(make_app, fhir, fhir_max_response_bytes=1_000_000)

    issue = issue_of(response)
    assert issue["code"] == "too-long" and "1000000 bytes" in issue["diagnostics"]
    assert seconds < MARGIN_S


def test_an_undeclared_oversized_response_is_cut_off(make_app: MakeApp, fhir: FhirServer) -> None:
    """No Content-Length (read to close): the count of bytes actually received stops it."""
    many = searchset(*(condition(f"c{i}") for i in range(3000)))

    fhir.on(SEARCH, lambda ex: ex.send(200, json.dumps(many).encode(), until_close=True))

    response, _ = call(make_app, fhir, fhir_max_response_bytes=200_000)

    assert issue_of(response)["code"] == "too-long"


def test_a_gzip_bomb_is_stopped_by_the_decoded_size(make_app: MakeApp, fhir: FhirServer) -> None:
    bomb = gzip_bomb(16 << 20)  # 16 MiB of zeros in about 16 KB
    fhir.on(SEARCH, lambda ex: ex.send(200, bomb, headers={"Content-Encoding": "gzip"}))

    response, seconds = call(make_app, fhir, fhir_max_response_bytes=1_000_000)

    assert len(bomb) < 1_000_000
    assert issue_of(response)["code"] == "too-long"
    assert seconds < DEADLINE_MS / 1000 + MARGIN_S


def test_a_response_just_under_the_limit_is_read(make_app: MakeApp, fhir: FhirServer) -> None:
    fhir.on(SEARCH, lambda ex: ex.json(searchset(condition())))

    response, _ = call(make_app, fhir, fhir_max_response_bytes=100_000)

    assert response.status_code == 200, response.text


# --- where the token goes ------------------------------------------------------------------------


def test_a_next_link_to_another_origin_gets_neither_the_token_nor_a_request(
    make_app: MakeApp, fhir: FhirServer, elsewhere: FhirServer
) -> None:
    fhir.on(SEARCH, lambda ex: ex.json(searchset(condition(), next_url=elsewhere.base + "/steal")))

    response, _ = call(make_app, fhir)

    assert "another origin" in issue_of(response)["diagnostics"]
    assert elsewhere.connections == 0


def test_a_redirect_is_not_followed(make_app: MakeApp, fhir: FhirServer, elsewhere: FhirServer) -> None:
    fhir.on(SEARCH, lambda ex: ex.send(302, b"", headers={"Location": elsewhere.base + "/steal"}))

    response, _ = call(make_app, fhir)

    assert "HTTP 302" in issue_of(response)["diagnostics"]
    assert elsewhere.connections == 0


def test_a_fhir_server_with_credentials_in_its_url_is_a_400(make_app: MakeApp) -> None:
    body = hook_body(fhirServer="http://admin:secret@127.0.0.1:9/fhir")

    issue = issue_of(make_app().post(PV, json=body), 400)

    assert issue["expression"] == ["fhirServer"]


# --- SSRF: only the fhirServer the issuer allows -------------------------------------------------


@pytest.mark.parametrize(
    "named",
    ["{other}/fhir", "{allowed}/fhir/../admin", "{allowed}/fhir-admin", "{allowed}/fhir?x=1"],
    ids=["another host:port", "dot segments", "longer path", "query"],
)
def test_a_fhir_server_the_issuer_does_not_allow_is_never_contacted(
    make_app: MakeApp, fhir: FhirServer, elsewhere: FhirServer, tmp_path: Path, named: str
) -> None:
    key = SigningKey(ec.generate_private_key(ec.SECP384R1()), "ES384", "ssrf")
    (tmp_path / "jwks.json").write_text(json.dumps(jwks(key)))
    client = make_app(
        auth_enabled=True,
        auth_issuers={ISSUER: {"jwks": str(tmp_path / "jwks.json"), "fhir_servers": [fhir.base + "/fhir"]}},
    )
    body = fetching(fhir.base, TOKEN)
    body["fhirServer"] = named.format(other=elsewhere.base, allowed=fhir.base)
    token = make_token(key, "http://testserver" + PV, iss=ISSUER)

    response = client.post(PV, json=body, headers={"Authorization": f"Bearer {token}"})

    assert "not allowed for this issuer" in issue_of(response)["diagnostics"]
    assert fhir.connections == 0 and elsewhere.connections == 0
