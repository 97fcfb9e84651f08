"""Prefetch resolution against a real FHIR server on 127.0.0.1: present, absent, null, failed, paged."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_hooks import (
    Card,
    CdsError,
    CdsService,
    HookCall,
    IssuerPolicy,
    ProtocolConfig,
    ServiceDefinition,
    mount,
)
from cds_hooks._request import HookRequest
from cds_hooks.config import fhir_server_allowed
from cds_hooks.prefetch import check_template, render
from tests.cds_hooks.support import (
    CONDITION,
    ISSUER,
    PATIENT,
    PREFETCH,
    TESTSERVER,
    Harness,
    MemoryFeedbackStore,
    SigningKey,
    hook_body,
    jwks,
    make_token,
)
from tests.fhir_server import FhirServer, searchset

PV = "/cds-services/test-patient-view"
TOKEN = "fhir-access-token-123"
C2 = {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/123"}}
C3 = {"resourceType": "Condition", "id": "c3", "subject": {"reference": "Patient/123"}}


def with_fhir(fhir: FhirServer, **prefetch: Any) -> dict[str, Any]:
    """A patient-view request naming ``fhir`` as its FHIR server; ``prefetch`` as given (``...`` drops a key)."""
    body = hook_body(fhirServer=fhir.base + "/fhir", fhirAuthorization=fhir_authorization())
    body["prefetch"] = {k: v for k, v in {"patient": PATIENT, **prefetch}.items() if v is not ...}
    return body


def fhir_authorization() -> dict[str, Any]:
    return {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }


def outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    return issue


# --- present ---------------------------------------------------------------------------------------


def test_a_full_prefetch_needs_no_fhir_server(app: Harness, fhir: FhirServer) -> None:
    response = app.client.post(PV, json=with_fhir(fhir, conditions=searchset(CONDITION, C2)))

    assert response.status_code == 200
    assert app.calls[0].data == {"patient": [PATIENT], "conditions": [CONDITION, C2]}
    assert fhir.seen == []


def test_search_outcome_entries_are_not_resources(app: Harness) -> None:
    bundle = searchset(CONDITION)
    bundle["entry"].append({"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}})
    body = hook_body()
    body["prefetch"]["conditions"] = bundle

    assert app.client.post(PV, json=body).status_code == 200
    assert app.calls[0].data["conditions"] == [CONDITION]


def test_a_paginated_prefetch_bundle_is_followed_on_the_fhir_server(app: Harness, fhir: FhirServer) -> None:
    fhir.json(
        "/fhir/Condition?patient=123&page=2", searchset(C2, next_url=fhir.base + "/fhir/Condition?page=3")
    )
    fhir.json("/fhir/Condition?page=3", searchset(C3))
    first_page = searchset(CONDITION, next_url=fhir.base + "/fhir/Condition?patient=123&page=2")

    response = app.client.post(PV, json=with_fhir(fhir, conditions=first_page))

    assert response.status_code == 200
    assert app.calls[0].data["conditions"] == [CONDITION, C2, C3]
    assert fhir.paths() == ["/fhir/Condition?patient=123&page=2", "/fhir/Condition?page=3"]
    assert all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in fhir.seen)


# --- absent: fetched -------------------------------------------------------------------------------


def test_an_absent_key_is_fetched_with_the_bearer_token_following_next_links(
    app: Harness, fhir: FhirServer
) -> None:
    fhir.json(
        "/fhir/Condition?patient=123", searchset(CONDITION, next_url=fhir.base + "/fhir/Condition?page=2")
    )
    fhir.json("/fhir/Condition?page=2", searchset(C2))

    response = app.client.post(PV, json=with_fhir(fhir))

    assert response.status_code == 200
    assert app.calls[0].data == {"patient": [PATIENT], "conditions": [CONDITION, C2]}
    assert fhir.paths() == ["/fhir/Condition?patient=123", "/fhir/Condition?page=2"]
    assert [s.headers["authorization"] for s in fhir.seen] == [f"Bearer {TOKEN}"] * 2
    assert app.calls[0].fhir_server == fhir.base + "/fhir"


def test_no_prefetch_at_all_fetches_every_key_a_read_giving_one_resource(
    app: Harness, fhir: FhirServer
) -> None:
    fhir.json("/fhir/Patient/123", PATIENT)
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))
    body = with_fhir(fhir)
    del body["prefetch"]
    body["context"]["patientId"] = "Patient/123"  # tokens use the bare id

    response = app.client.post(PV, json=body)

    assert response.status_code == 200
    assert app.calls[0].data == {"patient": [PATIENT], "conditions": [CONDITION]}
    assert sorted(fhir.paths()) == ["/fhir/Condition?patient=123", "/fhir/Patient/123"]


def test_a_fhir_server_base_with_a_trailing_slash(app: Harness, fhir: FhirServer) -> None:
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))
    body = with_fhir(fhir)
    body["fhirServer"] += "/"

    assert app.client.post(PV, json=body).status_code == 200
    assert fhir.paths() == ["/fhir/Condition?patient=123"]


def test_without_fhir_authorization_no_token_is_sent(app: Harness, fhir: FhirServer) -> None:
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))
    body = with_fhir(fhir)
    del body["fhirAuthorization"]

    assert app.client.post(PV, json=body).status_code == 200
    assert "authorization" not in fhir.seen[0].headers


# --- null and OperationOutcome ---------------------------------------------------------------------


def test_a_null_prefetch_means_no_data_and_nothing_is_fetched(app: Harness, fhir: FhirServer) -> None:
    response = app.client.post(PV, json=with_fhir(fhir, conditions=None))

    assert response.status_code == 200
    assert app.calls[0].data["conditions"] == []
    assert fhir.seen == []


def test_an_operation_outcome_in_place_of_a_prefetch_is_fetched_instead(
    app: Harness, fhir: FhirServer, caplog: pytest.LogCaptureFixture
) -> None:
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))
    failed = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout", "diagnostics": "Jane Doe's conditions timed out"}],
    }

    with caplog.at_level("INFO", logger="cds_hooks"):
        response = app.client.post(PV, json=with_fhir(fhir, conditions=failed))

    assert response.status_code == 200
    assert app.calls[0].data["conditions"] == [CONDITION]
    assert fhir.paths() == ["/fhir/Condition?patient=123"]
    assert "timeout" in caplog.text
    assert "Jane Doe" not in caplog.text  # diagnostics may carry patient data: not logged


# --- 412: data that cannot be had ------------------------------------------------------------------


def test_an_absent_key_without_a_fhir_server_is_a_412(app: Harness) -> None:
    body = hook_body()
    del body["prefetch"]["conditions"]

    issue = outcome(app.client.post(PV, json=body), 412)

    assert "conditions" in issue["diagnostics"]
    assert "fhirServer" in issue["diagnostics"]
    assert app.calls == []


def test_more_pages_without_a_fhir_server_is_a_412(app: Harness, fhir: FhirServer) -> None:
    body = hook_body()
    body["prefetch"]["conditions"] = searchset(CONDITION, next_url=fhir.base + "/fhir/Condition?page=2")

    outcome(app.client.post(PV, json=body), 412)
    assert fhir.seen == []


@pytest.mark.parametrize(
    "status, content",
    [
        (500, b'{"resourceType":"OperationOutcome"}'),
        (401, b'{"resourceType":"OperationOutcome"}'),
        (200, b"{not json"),
        (200, b"[]"),
        (200, b'{"id": "no resourceType"}'),
        (200, b'{"resourceType":"OperationOutcome","issue":[]}'),
        (200, b'{"resourceType":"Bundle","entry":{"resource":{}}}'),
    ],
    ids=["500", "401", "malformed JSON", "not an object", "not a resource", "OperationOutcome", "bad Bundle"],
)
def test_a_failing_fhir_server_is_a_412(
    app: Harness, fhir: FhirServer, status: int, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    fhir.raw("/fhir/Condition?patient=123", content, status)

    with caplog.at_level("DEBUG"):
        issue = outcome(app.client.post(PV, json=with_fhir(fhir)), 412)

    assert "conditions" in issue["diagnostics"]
    assert app.calls == []
    assert caplog.records and TOKEN not in caplog.text  # logged, without the access token


def test_a_next_link_to_another_origin_is_a_412_and_gets_no_token(
    app: Harness, fhir: FhirServer, elsewhere: FhirServer
) -> None:
    elsewhere.json("/fhir/Condition?page=2", searchset(C2))
    fhir.json(
        "/fhir/Condition?patient=123",
        searchset(CONDITION, next_url=elsewhere.base + "/fhir/Condition?page=2"),
    )

    outcome(app.client.post(PV, json=with_fhir(fhir)), 412)
    assert elsewhere.seen == []


def test_a_prefetch_bundle_linking_to_another_origin_is_a_412_and_gets_no_token(
    app: Harness, fhir: FhirServer, elsewhere: FhirServer
) -> None:
    first_page = searchset(CONDITION, next_url=elsewhere.base + "/fhir/Condition?page=2")

    outcome(app.client.post(PV, json=with_fhir(fhir, conditions=first_page)), 412)
    assert elsewhere.seen == []


def test_a_redirect_is_not_followed(app: Harness, fhir: FhirServer, elsewhere: FhirServer) -> None:
    elsewhere.json("/steal", searchset(CONDITION))
    fhir.raw("/fhir/Condition?patient=123", b"", 302, {"Location": elsewhere.base + "/steal"})

    outcome(app.client.post(PV, json=with_fhir(fhir)), 412)
    assert elsewhere.seen == []


def test_more_pages_than_allowed_is_a_412(make_app: Callable[..., Harness], fhir: FhirServer) -> None:
    harness = make_app(ProtocolConfig(auth_enabled=False, fhir_max_pages=2))
    fhir.json(
        "/fhir/Condition?patient=123", searchset(CONDITION, next_url=fhir.base + "/fhir/Condition?page=2")
    )
    fhir.json("/fhir/Condition?page=2", searchset(C2, next_url=fhir.base + "/fhir/Condition?page=3"))
    fhir.json("/fhir/Condition?page=3", searchset(C3))

    issue = outcome(harness.client.post(PV, json=with_fhir(fhir)), 412)

    assert "more than 2 pages" in issue["diagnostics"]
    assert len(fhir.seen) == 2


def test_exactly_the_allowed_pages_are_served(make_app: Callable[..., Harness], fhir: FhirServer) -> None:
    harness = make_app(ProtocolConfig(auth_enabled=False, fhir_max_pages=2))
    fhir.json(
        "/fhir/Condition?patient=123", searchset(CONDITION, next_url=fhir.base + "/fhir/Condition?page=2")
    )
    fhir.json("/fhir/Condition?page=2", searchset(C2))

    assert harness.client.post(PV, json=with_fhir(fhir)).status_code == 200
    assert harness.calls[0].data["conditions"] == [CONDITION, C2]


def test_a_slow_fhir_server_is_a_412_timeout(make_app: Callable[..., Harness], fhir: FhirServer) -> None:
    harness = make_app(ProtocolConfig(auth_enabled=False, fhir_timeout_seconds=0.2))
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))
    fhir.delay_seconds = 0.6

    issue = outcome(harness.client.post(PV, json=with_fhir(fhir)), 412)

    assert issue["code"] == "timeout"


def test_the_whole_hook_is_bounded_by_its_deadline(
    make_app: Callable[..., Harness], fhir: FhirServer
) -> None:
    harness = make_app(ProtocolConfig(auth_enabled=False, hook_deadline_ms=200))
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))
    fhir.delay_seconds = 0.6

    issue = outcome(harness.client.post(PV, json=with_fhir(fhir)), 412)

    assert issue["code"] == "timeout"
    assert "200 ms" in issue["diagnostics"]
    assert harness.calls == []


def test_an_unreachable_fhir_server_is_a_412(app: Harness) -> None:
    body = hook_body(fhirServer="http://127.0.0.1:9/fhir")  # discard port: nothing listens
    del body["prefetch"]["conditions"]

    outcome(app.client.post(PV, json=body), 412)


# --- fhirServer allowlist per issuer (auth on) -----------------------------------------------------


@pytest.fixture
def secured(make_app: Callable[..., Harness], ec_key: SigningKey, tmp_path: Path) -> Callable[..., Harness]:
    """An app trusting ISSUER (keys from a JWKS *file*) with the given fhir_servers allowlist."""
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(jwks(ec_key)))

    def build(fhir_servers: tuple[str, ...] | None) -> Harness:
        policy = IssuerPolicy(jwks=str(jwks_file), fhir_servers=fhir_servers)
        return make_app(ProtocolConfig(issuers={ISSUER: policy}))

    return build


def _signed(key: SigningKey) -> dict[str, str]:
    return {"Authorization": "Bearer " + make_token(key, TESTSERVER + PV)}


@pytest.mark.parametrize("allowed", [None, "exact", "trailing slash"])
def test_an_allowed_fhir_server_is_called(
    secured: Callable[..., Harness], fhir: FhirServer, ec_key: SigningKey, allowed: str | None
) -> None:
    base = fhir.base + "/fhir"
    harness = secured(None if allowed is None else (base + "/" if allowed == "trailing slash" else base,))
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))

    response = harness.client.post(PV, json=with_fhir(fhir), headers=_signed(ec_key))

    assert response.status_code == 200
    assert harness.calls[0].data["conditions"] == [CONDITION]
    assert harness.calls[0].issuer == ISSUER
    assert harness.calls[0].fhir_server == base


def test_a_fhir_server_the_issuer_does_not_allow_is_never_called(
    secured: Callable[..., Harness], fhir: FhirServer, ec_key: SigningKey
) -> None:
    harness = secured(("https://fhir.ehr.example.org/r4",))
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))

    issue = outcome(harness.client.post(PV, json=with_fhir(fhir), headers=_signed(ec_key)), 412)

    assert "not allowed" in issue["diagnostics"]
    assert fhir.seen == []


def test_a_full_prefetch_still_serves_when_the_fhir_server_is_not_allowed(
    secured: Callable[..., Harness], fhir: FhirServer, ec_key: SigningKey
) -> None:
    harness = secured(("https://fhir.ehr.example.org/r4",))

    response = harness.client.post(
        PV, json=with_fhir(fhir, conditions=searchset(CONDITION)), headers=_signed(ec_key)
    )

    assert response.status_code == 200
    assert harness.calls[0].fhir_server is None  # the handler is not handed a server it may not call


@pytest.mark.parametrize(
    "allowlist",
    [
        (),
        ("https://fhir.ehr.example.org/r4",),
        ("{base}/fhir/tenant-a",),
        ("{base}/fhirx",),
        ("{other_port}/fhir",),
    ],
    ids=["empty", "another host", "a deeper path", "a sibling path", "another port"],
)
def test_with_auth_off_a_fhir_server_off_the_allowlist_is_a_412_and_never_called(
    make_app: Callable[..., Harness],
    fhir: FhirServer,
    elsewhere: FhirServer,
    allowlist: tuple[str, ...],
) -> None:
    allowed = tuple(a.format(base=fhir.base, other_port=elsewhere.base) for a in allowlist)
    harness = make_app(ProtocolConfig(auth_enabled=False, fhir_servers=allowed))
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))

    issue = outcome(harness.client.post(PV, json=with_fhir(fhir)), 412)

    assert issue["diagnostics"] == (
        "prefetch 'conditions' was not sent and its fhirServer is not on this service's allowed list"
    )
    assert fhir.seen == []  # not one hit
    assert harness.calls == []


@pytest.mark.parametrize("allowed", ["{base}/fhir", "{base}/fhir/", "{base}", "{base}/"])
def test_with_auth_off_an_allowed_fhir_server_is_called(
    make_app: Callable[..., Harness], fhir: FhirServer, allowed: str
) -> None:
    harness = make_app(ProtocolConfig(auth_enabled=False, fhir_servers=(allowed.format(base=fhir.base),)))
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))

    response = harness.client.post(PV, json=with_fhir(fhir))

    assert response.status_code == 200, response.text
    assert fhir.paths() == ["/fhir/Condition?patient=123"]
    assert harness.calls[0].fhir_server == fhir.base + "/fhir"


def test_with_auth_off_and_no_allowlist_any_fhir_server_is_called(app: Harness, fhir: FhirServer) -> None:
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))

    assert app.client.post(PV, json=with_fhir(fhir)).status_code == 200
    assert len(fhir.seen) == 1


def test_with_auth_off_a_full_prefetch_serves_whatever_fhir_server_is_named(
    make_app: Callable[..., Harness], fhir: FhirServer
) -> None:
    harness = make_app(ProtocolConfig(auth_enabled=False, fhir_servers=("https://fhir.ehr.example.org",)))

    response = harness.client.post(PV, json=with_fhir(fhir, conditions=searchset(CONDITION)))

    assert response.status_code == 200
    assert harness.calls[0].fhir_server is None
    assert fhir.seen == []


@pytest.mark.parametrize(
    "fhir_server, allowed",
    [
        ("https://ehr.example.org/fhir", True),
        ("https://ehr.example.org/fhir/", True),
        ("https://EHR.example.org:443/fhir", True),
        ("HTTPS://ehr.example.org/fhir/tenant/a", True),
        ("https://ehr.example.org/fhirx", False),
        ("https://ehr.example.org/", False),
        ("https://ehr.example.org/other/fhir", False),
        ("http://ehr.example.org/fhir", False),
        ("https://ehr.example.org:8443/fhir", False),
        ("https://ehr.example.org.evil.example/fhir", False),
        ("https://evil.example/fhir", False),
        ("https://ehr.example.org/fhir/%2e%2e/admin", False),
        ("https://ehr.example.org/fhir?x=1", False),
        ("https://ehr.example.org/fhir#x", False),
        ("not a url", False),
    ],
)
def test_fhir_server_matching_is_by_origin_and_path_prefix(fhir_server: str, allowed: bool) -> None:
    assert fhir_server_allowed(fhir_server, ["https://ehr.example.org/fhir/"]) is allowed


def test_an_allowlist_entry_without_a_path_allows_its_whole_origin() -> None:
    assert fhir_server_allowed("http://127.0.0.1:8080/any/base", ["http://127.0.0.1:8080"])
    assert not fhir_server_allowed("http://127.0.0.1:8081/any/base", ["http://127.0.0.1:8080"])
    assert not fhir_server_allowed("https://ehr.example.org/fhir", [])


def test_an_issuer_allowlist_matches_a_deeper_base_the_same_way(
    secured: Callable[..., Harness], fhir: FhirServer, ec_key: SigningKey
) -> None:
    harness = secured((fhir.base,))  # the origin allows its /fhir base
    fhir.json("/fhir/Condition?patient=123", searchset(CONDITION))

    response = harness.client.post(PV, json=with_fhir(fhir), headers=_signed(ec_key))

    assert response.status_code == 200
    assert fhir.paths() == ["/fhir/Condition?patient=123"]


# --- a prefetch that reads one resource must be that resource --------------------------------------


@pytest.mark.parametrize(
    "patient, patient_id, got",
    [
        ({"resourceType": "Patient", "id": "999"}, "123", "Patient/999"),
        ({"resourceType": "Patient", "id": "999"}, "Patient/123", "Patient/999"),
        ({"resourceType": "Patient"}, "123", "Patient without an id"),
        ({"resourceType": "Practitioner", "id": "123"}, "123", "Practitioner/123"),
        ({"resourceType": "Condition", "id": "123"}, "123", "Condition/123"),
        (
            searchset(PATIENT, {"resourceType": "Patient", "id": "999"}),
            "123",
            "a Bundle holding Patient/123, Patient/999",
        ),
        (searchset(CONDITION), "123", "a Bundle holding Condition/c1"),
    ],
    ids=[
        "another patient",
        "another patient, reference form",
        "no id",
        "another type",
        "a condition",
        "a bundle with another patient",
        "a bundle of something else",
    ],
)
def test_a_patient_prefetch_that_is_not_the_contexts_patient_is_a_400(
    app: Harness, fhir: FhirServer, patient: dict[str, Any], patient_id: str, got: str
) -> None:
    body = with_fhir(fhir, patient=patient, conditions=searchset(CONDITION))
    body["context"]["patientId"] = patient_id

    issue = outcome(app.client.post(PV, json=body), 400)

    assert issue["code"] == "invalid"
    assert issue["expression"] == ["prefetch.patient"]
    assert issue["diagnostics"] == (
        "prefetch.patient: must be the Patient with id '123' that its template "
        f"'Patient/{{{{context.patientId}}}}' reads; got {got}"
    )
    assert app.calls == []
    assert fhir.seen == []


@pytest.mark.parametrize(
    "patient_id, sent_id", [("123", "123"), ("Patient/123", "123"), ("123", "Patient/123")]
)
def test_the_contexts_patient_is_accepted_whichever_form_its_id_takes(
    app: Harness, patient_id: str, sent_id: str
) -> None:
    body = hook_body()
    body["context"]["patientId"] = patient_id
    body["prefetch"]["patient"] = {"resourceType": "Patient", "id": sent_id}

    assert app.client.post(PV, json=body).status_code == 200
    assert app.calls[0].data["patient"] == [{"resourceType": "Patient", "id": sent_id}]


def test_a_patient_prefetch_sent_as_a_bundle_of_that_patient_is_accepted(app: Harness) -> None:
    body = hook_body()
    body["prefetch"]["patient"] = searchset(PATIENT, {**PATIENT, "birthDate": "1990-01-01"})

    assert app.client.post(PV, json=body).status_code == 200
    assert [p["id"] for p in app.calls[0].data["patient"]] == ["123", "123"]


def test_a_patient_prefetch_sent_as_an_operation_outcome_is_still_fetched(
    app: Harness, fhir: FhirServer
) -> None:
    fhir.json("/fhir/Patient/123", PATIENT)
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}

    response = app.client.post(PV, json=with_fhir(fhir, patient=failed, conditions=searchset(CONDITION)))

    assert response.status_code == 200
    assert app.calls[0].data["patient"] == [PATIENT]


# --- templates -------------------------------------------------------------------------------------


def _request(context: dict[str, Any], patient_id: str = "123") -> HookRequest:
    return HookRequest("patient-view", "h", None, None, context, patient_id, None)


@pytest.mark.parametrize(
    "template, context, rendered",
    [
        ("Patient/{{context.patientId}}", {"patientId": "Patient/123"}, "Patient/123"),
        (
            "Observation?patient={{ context.patientId }}&code=1",
            {"patientId": "123"},
            "Observation?patient=123&code=1",
        ),
        ("Practitioner/{{userPractitionerId}}", {"userId": "Practitioner/p-1"}, "Practitioner/p-1"),
        (
            "PractitionerRole/{{userPractitionerRoleId}}",
            {"userId": "PractitionerRole/r1"},
            "PractitionerRole/r1",
        ),
        ("Patient/{{userPatientId}}", {"userId": "Patient/9"}, "Patient/9"),
        ("RelatedPerson/{{userRelatedPersonId}}", {"userId": "RelatedPerson/rp"}, "RelatedPerson/rp"),
        ("Encounter/{{context.encounterId}}", {"encounterId": "e 1&x=2"}, "Encounter/e%201%26x%3D2"),
        ("Observation?flag={{context.flag}}", {"flag": True}, "Observation?flag=true"),
    ],
)
def test_templates_render_spec_tokens_url_encoded(
    template: str, context: dict[str, Any], rendered: str
) -> None:
    check_template(template)
    assert render(template, _request(context)) == rendered


@pytest.mark.parametrize(
    "template, context",
    [
        ("Practitioner/{{userPractitionerId}}", {"userId": "Patient/9"}),
        ("Encounter/{{context.encounterId}}", {}),
        ("Encounter/{{context.encounterId}}", {"encounterId": {"id": "e1"}}),
        ("{{context.userId}}", {"userId": "Practitioner/../../admin"}),
    ],
    ids=["user of another type", "field absent", "field not primitive", "dot segments"],
)
def test_a_template_the_request_cannot_fill_is_a_412(template: str, context: dict[str, Any]) -> None:
    with pytest.raises(CdsError) as caught:
        render(template, _request(context, patient_id=""))
    assert caught.value.status == 412


@pytest.mark.parametrize(
    "template",
    [
        "https://elsewhere.example/Patient/{{context.patientId}}",
        "//elsewhere.example/Patient",
        "/Patient/{{context.patientId}}",
        "../admin/Patient",
        "Patient/{{patient.id}}",
        "Patient/{{context.patientId}",
    ],
)
def test_templates_that_could_leave_the_fhir_server_are_refused_at_mount(template: str) -> None:
    with pytest.raises(ValueError):
        check_template(template)


# --- optional keys (ServiceDefinition.optional_prefetch) --------------------------------------------

OPTIONAL = {
    "allergies": "AllergyIntolerance?patient={{context.patientId}}",
    "orders": "ServiceRequest?patient={{context.patientId}}",
    "reports": "DiagnosticReport?patient={{context.patientId}}",
}
ALLERGY = {"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/123"}}


@pytest.fixture
def optional_app() -> Iterator[Harness]:
    """The protocol with one service whose three extra keys are optional, auth off."""
    calls: list[HookCall] = []

    async def handler(call: HookCall) -> Sequence[Card]:
        calls.append(call)
        return []

    definition = ServiceDefinition(
        hook="patient-view",
        id="test-optional",
        title="Test",
        description="dummy",
        prefetch={**PREFETCH, **OPTIONAL},
        optional_prefetch=frozenset(OPTIONAL),
    )
    app = FastAPI()
    mount(app, [CdsService(definition, handler)], ProtocolConfig(auth_enabled=False), MemoryFeedbackStore())
    with TestClient(app) as client:
        yield Harness(client, calls, MemoryFeedbackStore(), [])


OPT = "/cds-services/test-optional"


def test_optional_keys_absent_without_a_fhir_server_are_answered_without_them(optional_app: Harness) -> None:
    response = optional_app.client.post(OPT, json=hook_body())

    assert response.status_code == 200, response.text
    assert optional_app.calls[0].data == {"patient": [PATIENT], "conditions": [CONDITION]}


def test_a_required_key_absent_without_a_fhir_server_is_still_a_412(optional_app: Harness) -> None:
    body = hook_body()
    del body["prefetch"]["conditions"]

    issue = outcome(optional_app.client.post(OPT, json=body), 412)

    assert "conditions" in issue["diagnostics"] and optional_app.calls == []


def test_optional_keys_sent_or_null_are_served_as_usual(optional_app: Harness) -> None:
    body = hook_body()
    body["prefetch"].update({"allergies": searchset(ALLERGY), "orders": None})

    assert optional_app.client.post(OPT, json=body).status_code == 200
    assert optional_app.calls[0].data == {
        "patient": [PATIENT],
        "conditions": [CONDITION],
        "allergies": [ALLERGY],
        "orders": [],
    }


def test_optional_keys_are_fetched_when_a_fhir_server_is_named(
    optional_app: Harness, fhir: FhirServer
) -> None:
    fhir.json("/fhir/AllergyIntolerance?patient=123", searchset(ALLERGY))
    fhir.raw("/fhir/ServiceRequest?patient=123", b'{"resourceType":"OperationOutcome"}', 500)
    fhir.json("/fhir/DiagnosticReport?patient=123", searchset())
    body = with_fhir(fhir, conditions=searchset(CONDITION))

    response = optional_app.client.post(OPT, json=body)

    assert response.status_code == 200, response.text
    # the failing one is left out; the others are there, an empty search included
    assert optional_app.calls[0].data == {
        "patient": [PATIENT],
        "conditions": [CONDITION],
        "allergies": [ALLERGY],
        "reports": [],
    }


def test_an_optional_key_whose_next_pages_cannot_be_had_is_left_out_whole(
    optional_app: Harness, fhir: FhirServer
) -> None:
    body = hook_body()
    body["prefetch"]["allergies"] = searchset(ALLERGY, next_url=fhir.base + "/fhir/AllergyIntolerance?page=2")

    assert optional_app.client.post(OPT, json=body).status_code == 200
    assert "allergies" not in optional_app.calls[0].data
    assert fhir.seen == []


def test_optional_keys_are_not_in_discovery(optional_app: Harness) -> None:
    (service,) = optional_app.client.get("/cds-services").json()["services"]
    assert set(service["prefetch"]) == {*PREFETCH, *OPTIONAL} and "optional_prefetch" not in service
    assert "optionalPrefetch" not in service


def test_an_optional_key_without_a_template_is_refused_at_mount() -> None:
    definition = ServiceDefinition(
        hook="patient-view",
        id="bad",
        title="Bad",
        description="dummy",
        prefetch=PREFETCH,
        optional_prefetch=frozenset({"allergies"}),
    )

    async def handler(call: HookCall) -> Sequence[Card]:
        return []

    with pytest.raises(ValueError, match="allergies"):
        mount(
            FastAPI(),
            [CdsService(definition, handler)],
            ProtocolConfig(auth_enabled=False),
            MemoryFeedbackStore(),
        )
