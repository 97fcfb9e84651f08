"""Discovery, request validation, errors, cards, feedback, limits and CORS (auth off unless stated)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cds_hooks import (
    Action,
    Card,
    CardContractError,
    CdsService,
    HookCall,
    ProtocolConfig,
    ServiceDefinition,
    Suggestion,
    mount,
)
from cds_hooks._request import preferred_language
from cds_hooks.router import cards_json
from tests.cds_hooks.support import (
    CONDITION,
    PATIENT,
    PREFETCH,
    Harness,
    MemoryFeedbackStore,
    a_card,
    hook_body,
)

PV = "/cds-services/test-patient-view"
OSEL = "/cds-services/test-order-select"
OSIGN = "/cds-services/test-order-sign"


def issue(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert len(body["issue"]) == 1
    assert body["issue"][0]["severity"] == "error"
    found: dict[str, Any] = body["issue"][0]
    return found


# --- discovery ------------------------------------------------------------------------------------


def test_discovery_lists_every_service_with_its_prefetch(app: Harness) -> None:
    response = app.client.get("/cds-services")

    assert response.status_code == 200
    services = response.json()["services"]
    assert [s["id"] for s in services] == ["test-patient-view", "test-order-select", "test-order-sign"]
    assert services[0] == {
        "hook": "patient-view",
        "id": "test-patient-view",
        "title": "Test patient-view",
        "description": "dummy",
        "prefetch": PREFETCH,
    }


def test_mount_rejects_duplicate_ids_and_unsafe_templates() -> None:
    async def handler(call: HookCall) -> Sequence[Card]:
        return []

    def service(template: str, id_: str = "s") -> CdsService:
        return CdsService(
            ServiceDefinition(
                hook="patient-view", id=id_, title="t", description="d", prefetch={"k": template}
            ),
            handler,
        )

    config = ProtocolConfig(auth_enabled=False)
    with pytest.raises(ValueError, match="two CDS services"):
        mount(FastAPI(), [service("Patient/{{context.patientId}}")] * 2, config, MemoryFeedbackStore())
    with pytest.raises(ValueError, match="relative"):
        mount(FastAPI(), [service("https://evil.example/Patient")], config, MemoryFeedbackStore())
    with pytest.raises(ValueError, match="unknown token"):
        mount(FastAPI(), [service("Patient/{{patient}}")], config, MemoryFeedbackStore())


# --- a valid hook call ----------------------------------------------------------------------------


def test_patient_view_hands_the_handler_a_resolved_call(app: Harness) -> None:
    body = hook_body()

    response = app.client.post(PV, json=body)

    assert response.status_code == 200
    assert response.json() == {"cards": []}
    (call,) = app.calls
    assert call.service_id == "test-patient-view"
    assert call.hook == "patient-view"
    assert call.hook_instance == body["hookInstance"]
    assert call.patient_id == "123"
    assert call.context == body["context"]
    assert call.data == {"patient": [PATIENT], "conditions": [CONDITION]}
    assert call.language == "en"
    assert call.issuer is None


def test_patient_id_given_as_a_reference_is_made_bare(app: Harness) -> None:
    body = hook_body()
    body["context"]["patientId"] = "Patient/123"

    assert app.client.post(PV, json=body).status_code == 200
    assert app.calls[0].patient_id == "123"
    assert app.calls[0].context["patientId"] == "Patient/123"  # the context stays as sent


@pytest.mark.parametrize("path, hook", [(OSEL, "order-select"), (OSIGN, "order-sign")])
def test_incomplete_draft_orders_are_not_a_spec_violation(app: Harness, path: str, hook: str) -> None:
    """EHRs call order-select while the clinician types: no medication, no intent yet."""
    response = app.client.post(path, json=hook_body(hook))

    assert response.status_code == 200
    assert app.calls[0].context["draftOrders"]["entry"][0]["resource"] == {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "draft",
    }


# --- 400: one test per field ----------------------------------------------------------------------


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    target = body
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return body


def _with(body: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


BAD_REQUESTS: list[tuple[str, str, Callable[[], dict[str, Any]], str, str]] = [
    ("hook other than the service's", PV, lambda: hook_body(hook="order-sign"), "hook", "invalid"),
    ("hook not a string", PV, lambda: _with(hook_body(), 7, "hook"), "hook", "invalid"),
    ("hook missing", PV, lambda: _without(hook_body(), "hook"), "hook", "required"),
    ("hookInstance missing", PV, lambda: _without(hook_body(), "hookInstance"), "hookInstance", "required"),
    ("hookInstance not a string", PV, lambda: hook_body(hookInstance=["x"]), "hookInstance", "invalid"),
    ("context missing", PV, lambda: _without(hook_body(), "context"), "context", "required"),
    ("context not an object", PV, lambda: hook_body(context="Patient/123"), "context", "invalid"),
    (
        "userId missing",
        PV,
        lambda: _without(hook_body(), "context", "userId"),
        "context.userId",
        "required",
    ),
    (
        "patientId missing",
        PV,
        lambda: _without(hook_body(), "context", "patientId"),
        "context.patientId",
        "required",
    ),
    (
        "patientId not a string",
        PV,
        lambda: _with(hook_body(), 123, "context", "patientId"),
        "context.patientId",
        "invalid",
    ),
    (
        "patientId not a FHIR id",
        PV,
        lambda: _with(hook_body(), "Patient/../admin", "context", "patientId"),
        "context.patientId",
        "invalid",
    ),
    (
        "encounterId not a string",
        PV,
        lambda: _with(hook_body(), {"id": 1}, "context", "encounterId"),
        "context.encounterId",
        "invalid",
    ),
    (
        "draftOrders missing (order-select)",
        OSEL,
        lambda: _without(hook_body("order-select"), "context", "draftOrders"),
        "context.draftOrders",
        "required",
    ),
    (
        "draftOrders missing (order-sign)",
        OSIGN,
        lambda: _without(hook_body("order-sign"), "context", "draftOrders"),
        "context.draftOrders",
        "required",
    ),
    (
        "draftOrders not a Bundle",
        OSIGN,
        lambda: _with(
            hook_body("order-sign"), {"resourceType": "MedicationRequest"}, "context", "draftOrders"
        ),
        "context.draftOrders",
        "invalid",
    ),
    (
        "draftOrders an array",
        OSIGN,
        lambda: _with(hook_body("order-sign"), [], "context", "draftOrders"),
        "context.draftOrders",
        "invalid",
    ),
    (
        "draftOrders entry not an array",
        OSIGN,
        lambda: _with(hook_body("order-sign"), {}, "context", "draftOrders", "entry"),
        "context.draftOrders.entry",
        "invalid",
    ),
    (
        "draft order resource not an object",
        OSIGN,
        lambda: _with(
            hook_body("order-sign"), "MedicationRequest/1", "context", "draftOrders", "entry", 0, "resource"
        ),
        "context.draftOrders.entry[0].resource",
        "invalid",
    ),
    (
        "selections missing",
        OSEL,
        lambda: _without(hook_body("order-select"), "context", "selections"),
        "context.selections",
        "required",
    ),
    (
        "selections not an array",
        OSEL,
        lambda: _with(hook_body("order-select"), "MedicationRequest/mr1", "context", "selections"),
        "context.selections",
        "invalid",
    ),
    (
        "selection not a string",
        OSEL,
        lambda: _with(hook_body("order-select"), [1], "context", "selections"),
        "context.selections[0]",
        "invalid",
    ),
    (
        "selection naming no draft order",
        OSEL,
        lambda: _with(
            hook_body("order-select"),
            ["MedicationRequest/mr1", "MedicationRequest/zz"],
            "context",
            "selections",
        ),
        "context.selections[1]",
        "invalid",
    ),
    (
        "fhirAuthorization without fhirServer",
        PV,
        lambda: hook_body(fhirAuthorization={"access_token": "t", "token_type": "Bearer"}),
        "fhirServer",
        "required",
    ),
    (
        "fhirAuthorization not an object",
        PV,
        lambda: hook_body(fhirServer="https://fhir.example.org", fhirAuthorization="Bearer t"),
        "fhirAuthorization",
        "invalid",
    ),
    (
        "fhirAuthorization without access_token",
        PV,
        lambda: hook_body(fhirServer="https://fhir.example.org", fhirAuthorization={"token_type": "Bearer"}),
        "fhirAuthorization.access_token",
        "required",
    ),
    (
        "fhirAuthorization.expires_in not a number",
        PV,
        lambda: hook_body(
            fhirServer="https://fhir.example.org", fhirAuthorization={"access_token": "t", "expires_in": "1h"}
        ),
        "fhirAuthorization.expires_in",
        "invalid",
    ),
    ("fhirServer not a string", PV, lambda: hook_body(fhirServer=["x"]), "fhirServer", "invalid"),
    (
        "fhirServer not an http URL",
        PV,
        lambda: hook_body(fhirServer="file:///etc/passwd"),
        "fhirServer",
        "invalid",
    ),
    ("prefetch not an object", PV, lambda: hook_body(prefetch=[]), "prefetch", "invalid"),
    (
        "prefetch value not a resource",
        PV,
        lambda: _with(hook_body(), "Patient/123", "prefetch", "patient"),
        "prefetch.patient",
        "invalid",
    ),
    (
        "prefetch resource without resourceType",
        PV,
        lambda: _with(hook_body(), {"id": "123"}, "prefetch", "patient"),
        "prefetch.patient.resourceType",
        "invalid",
    ),
    (
        "prefetch Bundle entry not an array",
        PV,
        lambda: _with(hook_body(), {"resource": {}}, "prefetch", "conditions", "entry"),
        "prefetch.conditions.entry",
        "invalid",
    ),
    (
        "prefetch Bundle link without url",
        PV,
        lambda: _with(hook_body(), [{"relation": "next"}], "prefetch", "conditions", "link"),
        "prefetch.conditions.link[0]",
        "invalid",
    ),
]


@pytest.mark.parametrize(
    "path, make_body, field, code",
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_a_request_breaking_the_spec_is_a_400_naming_the_field(
    app: Harness, path: str, make_body: Callable[[], dict[str, Any]], field: str, code: str
) -> None:
    response = app.client.post(path, json=make_body())

    assert response.status_code == 400
    found = issue(response)
    assert found["code"] == code
    assert found["expression"] == [field]
    assert field in found["diagnostics"]
    assert app.calls == []


@pytest.mark.parametrize(
    "path, make_body, diagnostics",
    [
        (PV, lambda: hook_body(hookInstance=["x"]), "hookInstance: expected a string, got an array"),
        (PV, lambda: hook_body(context="Patient/123"), "context: expected an object, got a string"),
        (PV, lambda: hook_body(prefetch=[]), "prefetch: expected an object, got an array"),
        (
            PV,
            lambda: _with(hook_body(), "Patient/123", "prefetch", "patient"),
            "prefetch.patient: expected an object, got a string",
        ),
        (
            PV,
            lambda: hook_body(fhirServer="https://fhir.example.org", fhirAuthorization="Bearer t"),
            "fhirAuthorization: expected an object, got a string",
        ),
        (
            PV,
            lambda: hook_body(
                fhirServer="https://fhir.example.org",
                fhirAuthorization={"access_token": "t", "expires_in": "1h"},
            ),
            "fhirAuthorization.expires_in: expected an integer, got a string",
        ),
        (OSEL, lambda: _with(hook_body("order-select"), [1], "context", "selections"), None),
        (PV + "/feedback", lambda: {"feedback": {"card": "c"}}, "feedback: expected an array, got an object"),
        (
            PV + "/feedback",
            lambda: {"feedback": [{"card": 7, "outcome": "accepted", "outcomeTimestamp": "t"}]},
            "feedback[0].card: expected a string, got a number",
        ),
        (
            PV,
            lambda: _with(hook_body(), None, "context", "userId"),
            "context.userId: expected a string, got null",
        ),
    ],
)
def test_errors_are_told_plainly(
    app: Harness, path: str, make_body: Callable[[], dict[str, Any]], diagnostics: str | None
) -> None:
    found = issue(app.client.post(path, json=make_body()))

    if diagnostics is not None:
        assert found["diagnostics"] == diagnostics
    text = found["diagnostics"]
    field = found["expression"][0]
    assert text.count(field + ":") == 1  # the field once, not "field: field: ..."
    assert "<class" not in text and "dictionary" not in text and "instance of" not in text


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"a string"', b"null"])
def test_a_body_that_is_not_a_json_object_is_a_400(app: Harness, raw: bytes) -> None:
    response = app.client.post(PV, content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert issue(response)["code"] == "structure"


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_PLACES: list[tuple[str | int, ...]] = [
    ("hook",),
    ("hookInstance",),
    ("context",),
    ("context", "userId"),
    ("context", "patientId"),
    ("context", "draftOrders"),
    ("context", "draftOrders", "entry"),
    ("context", "draftOrders", "entry", 0),
    ("context", "draftOrders", "entry", 0, "resource"),
    ("context", "selections"),
    ("context", "selections", 0),
    ("prefetch",),
    ("prefetch", "patient"),
    ("prefetch", "conditions", "entry"),
    ("prefetch", "conditions", "link"),
    ("fhirAuthorization",),
    ("fhirServer",),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(_PLACES), value=_json)
def test_no_client_input_reaches_the_500_handler(
    app: Harness, place: tuple[str | int, ...], value: Any
) -> None:
    body = _with(hook_body("order-select"), value, *place)

    response = app.client.post(OSEL, json=body)

    assert response.status_code in (200, 400, 412), response.text
    if response.status_code != 200:
        assert response.json()["resourceType"] == "OperationOutcome"


_resource = st.fixed_dictionaries({"resourceType": st.sampled_from(["Condition", "Bundle"])}) | _json
_entry = st.fixed_dictionaries({}, optional={"resource": _resource, "search": _json, "fullUrl": _json})
_prefetch_value = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Bundle", "OperationOutcome", "Condition"])},
    optional={"entry": st.lists(_entry, min_size=1, max_size=2) | _json, "issue": _json, "id": _json},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_prefetch_value)
def test_no_prefetch_shape_reaches_the_500_handler(app: Harness, value: dict[str, Any]) -> None:
    body = _with(hook_body(), value, "prefetch", "conditions")

    response = app.client.post(PV, json=body)

    assert response.status_code in (200, 400, 412), response.text


# --- 404, 405, 413 ---------------------------------------------------------------------------------


def test_an_unknown_service_is_a_404(app: Harness) -> None:
    response = app.client.post("/cds-services/no-such-service", json=hook_body())

    assert response.status_code == 404
    assert issue(response)["code"] == "not-found"
    assert "no-such-service" in issue(response)["diagnostics"]


def test_feedback_for_an_unknown_service_is_a_404(app: Harness) -> None:
    response = app.client.post("/cds-services/no-such-service/feedback", json={"feedback": []})

    assert response.status_code == 404
    assert issue(response)["code"] == "not-found"


def test_a_wrong_method_under_cds_services_is_an_operation_outcome(app: Harness) -> None:
    response = app.client.get(PV)

    assert response.status_code == 405
    assert issue(response)["code"] == "not-supported"


@pytest.mark.parametrize("path", ["/not-ours", "/cds-services/test-patient-view/nothing", "/cds-servicesx"])
def test_an_unknown_path_is_a_404_operation_outcome(app: Harness, path: str) -> None:
    response = app.client.get(path)

    assert response.status_code == 404
    assert issue(response) == {
        "severity": "error",
        "code": "not-found",
        "diagnostics": f"nothing is served at {path}",
    }


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/cds-services/no-such-service", "/cds-services/no-such-service/feedback"])
def test_any_method_on_an_unknown_service_is_a_404(app: Harness, method: str, path: str) -> None:
    response = app.client.request(method, path)

    assert response.status_code == 404
    assert issue(response) == {
        "severity": "error",
        "code": "not-found",
        "diagnostics": "no CDS service 'no-such-service'",
    }
    assert "allow" not in response.headers


def test_a_wrong_method_on_a_known_path_stays_a_405_with_an_operation_outcome(app: Harness) -> None:
    response = app.client.put("/cds-services")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert issue(response) == {
        "severity": "error",
        "code": "not-supported",
        "diagnostics": "PUT is not allowed on /cds-services",
    }


def test_a_routes_own_http_error_keeps_its_detail(make_app: Callable[..., Harness]) -> None:
    harness = make_app()
    app = harness.client.app
    assert isinstance(app, FastAPI)

    @app.get("/things/{name}")
    async def thing(name: str) -> None:
        raise HTTPException(404, f"no thing {name}")

    response = harness.client.get("/things/x")

    assert response.status_code == 404
    assert issue(response)["diagnostics"] == "no thing x"


# --- 415 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/fhir+xml",
        "text/json",
        "nonsense",
    ],
)
@pytest.mark.parametrize("path", [PV, PV + "/feedback"])
def test_a_body_declared_as_something_other_than_json_is_a_415(
    app: Harness, content_type: str, path: str
) -> None:
    body = {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-01-01T00:00:00Z"}]}
    raw = orjson.dumps(hook_body() if path == PV else body)

    response = app.client.post(path, content=raw, headers={"Content-Type": content_type})

    assert response.status_code == 415
    found = issue(response)
    assert found["code"] == "not-supported"
    assert "is not JSON" in found["diagnostics"]
    assert app.calls == [] and app.store.saved == []


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/fhir+json",
        "application/fhir+json; fhirVersion=4.0",
        "application/vnd.example+json",
    ],
)
def test_json_content_types_and_none_are_accepted(app: Harness, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    request = app.client.build_request("POST", PV, content=orjson.dumps(hook_body()), headers=headers)
    assert request.headers.get("content-type") == content_type  # None: the header is absent

    response = app.client.send(request)

    assert response.status_code == 200, response.text


@pytest.fixture
def small_app(make_app: Callable[..., Harness]) -> Harness:
    return make_app(ProtocolConfig(auth_enabled=False, max_body_bytes=2_000))


def test_a_body_over_the_limit_is_a_413_before_parsing(small_app: Harness) -> None:
    body = hook_body()
    body["context"]["padding"] = "x" * 3_000

    response = small_app.client.post(PV, json=body)

    assert response.status_code == 413
    assert issue(response)["code"] == "too-long"
    assert small_app.calls == []


def test_a_streamed_body_over_the_limit_is_a_413(small_app: Harness) -> None:
    """No Content-Length (chunked): counted as it arrives."""

    def chunks() -> Iterator[bytes]:
        yield orjson.dumps(hook_body())[:-1]
        yield b', "padding": "' + b"x" * 3_000 + b'"}'

    response = small_app.client.post(PV, content=chunks(), headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert issue(response)["code"] == "too-long"
    assert small_app.calls == []


def test_a_body_just_under_the_limit_is_served(small_app: Harness) -> None:
    raw = orjson.dumps(hook_body())
    assert len(raw) < 2_000

    assert small_app.client.post(PV, content=raw).status_code == 200


# --- language --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, language",
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh-Hant", "zh"),
        ("ZH-hant", "zh"),
        ("zh-HK", "zh"),
        ("zh-Hant-TW", "zh"),
        ("zh_TW", "zh"),
        ("en-US,zh;q=0.9", "en"),
        ("en;q=0.5, zh-TW;q=0.8", "zh"),
        ("zh;q=0.5, en", "en"),
        ("de, zh;q=0.1", "en"),  # the most preferred tag decides; it is not offered: the default
        ("zh;q=0, en;q=0.1", "en"),
        ("zhx", "en"),
        ("fr-FR", "en"),
        ("*", "en"),
        ("zh;q=bogus, en;q=0.1", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_preferred_language(header: str | None, language: str) -> None:
    assert preferred_language(header, ("en", "zh")) == language


def test_only_the_offered_languages_are_chosen_and_the_first_is_the_default() -> None:
    assert preferred_language("zh-CN", ("en",)) == "en"
    assert preferred_language("fr, en;q=0.5", ("zh", "en")) == "zh"
    assert preferred_language("FR-ca", ("en", "fr")) == "fr"


def test_the_handler_gets_the_language_from_accept_language(make_app: Callable[..., Harness]) -> None:
    harness = make_app(languages=("en", "zh"))
    for header in ["zh-CN,zh;q=0.9,en;q=0.8", "en-GB,en;q=0.9", "zh-TW", "zh-Hant", "de, zh;q=0.1"]:
        harness.client.post(PV, json=hook_body(), headers={"Accept-Language": header})

    assert [call.language for call in harness.calls] == ["zh", "en", "zh", "zh", "en"]


def test_the_languages_come_from_the_application(app: Harness) -> None:
    app.client.post(PV, json=hook_body(), headers={"Accept-Language": "zh-CN"})  # mounted with ("en",)

    assert [call.language for call in app.calls] == ["en"]


def test_mount_needs_a_language() -> None:
    with pytest.raises(ValueError, match="at least one language"):
        mount(FastAPI(), [], ProtocolConfig(auth_enabled=False), MemoryFeedbackStore(), languages=())


# --- cards -----------------------------------------------------------------------------------------


def test_cards_are_serialised_without_empty_optional_fields(app: Harness) -> None:
    app.cards.append(a_card())
    app.cards.append(
        a_card(
            detail="Why",
            selection_behavior="at-most-one",
            suggestions=[Suggestion(label="Do it", actions=[Action(type="create", description="Order")])],
        )
    )

    cards = app.client.post(PV, json=hook_body()).json()["cards"]

    assert set(cards[0]) == {"summary", "indicator", "source", "uuid"}
    assert cards[0]["source"] == {"label": "Test"}
    assert set(cards[1]) == {
        "summary",
        "indicator",
        "source",
        "uuid",
        "detail",
        "suggestions",
        "selectionBehavior",
    }
    (suggestion,) = cards[1]["suggestions"]
    assert set(suggestion) == {"label", "uuid", "actions"}
    assert suggestion["actions"] == [{"type": "create", "description": "Order"}]


def test_a_card_with_suggestions_but_no_selection_behavior_fails_loudly(
    app: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    app.cards.append(a_card(suggestions=[Suggestion(label="Do it")]))

    with caplog.at_level(logging.ERROR, logger="cds_hooks"):
        response = app.client.post(PV, json=hook_body())

    assert response.status_code == 500
    assert issue(response) == {"severity": "error", "code": "exception", "diagnostics": "internal error"}
    assert any(
        r.exc_info
        and isinstance(r.exc_info[1], CardContractError)
        and "selectionBehavior" in str(r.exc_info[1])
        for r in caplog.records
    )


@pytest.mark.parametrize(
    "card",
    [
        a_card(uuid=""),
        a_card(selection_behavior="any", suggestions=[Suggestion(label="x", uuid="")]),
        a_card(suggestions=[Suggestion(label="x")]),
    ],
    ids=["card without uuid", "suggestion without uuid", "no selectionBehavior"],
)
def test_cards_breaking_the_contract_are_caught(card: Card) -> None:
    with pytest.raises(CardContractError):
        cards_json([card])


def test_a_delete_action_names_one_resource_as_a_string() -> None:
    action = Action(type="delete", description="Remove", resource_id="MedicationRequest/d1")

    assert action.to_json() == {
        "type": "delete",
        "description": "Remove",
        "resourceId": "MedicationRequest/d1",
    }
    with pytest.raises(ValidationError):
        Action(type="delete", description="Remove", resource_id=["MedicationRequest/d1"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Action(type="delete", description="Remove", resource_id="")


def test_every_card_and_suggestion_gets_a_uuid() -> None:
    (card,) = cards_json([a_card(selection_behavior="any", suggestions=[Suggestion(label="x")])])

    assert card["uuid"] and card["suggestions"][0]["uuid"]


# --- an unexpected error ---------------------------------------------------------------------------


def test_an_unexpected_error_is_a_bare_500_with_cors(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(call: HookCall) -> Sequence[Card]:
        raise RuntimeError("boom with patient details")

    app = FastAPI()
    definition = ServiceDefinition(hook="patient-view", id="broken", title="t", description="d")
    mount(app, [CdsService(definition, broken)], ProtocolConfig(auth_enabled=False), MemoryFeedbackStore())

    with caplog.at_level(logging.ERROR, logger="cds_hooks"), TestClient(app) as client:
        response = client.post(
            "/cds-services/broken", json=hook_body(), headers={"Origin": "https://ehr.example"}
        )

    assert response.status_code == 500
    assert response.json() == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception", "diagnostics": "internal error"}],
    }
    assert response.headers["access-control-allow-origin"] == "*"
    assert any(r.exc_info for r in caplog.records)  # logged with its traceback


# --- feedback --------------------------------------------------------------------------------------

FEEDBACK = {
    "feedback": [
        {
            "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
            "outcome": "overridden",
            "overrideReason": {"reason": {"code": "d1", "system": "urn:x"}, "userComment": "n/a"},
            "outcomeTimestamp": "2024-03-01T10:00:00Z",
        },
        {
            "card": "c2",
            "outcome": "accepted",
            "outcomeTimestamp": "2024-03-01T10:00:01Z",
            "acceptedSuggestions": [{"id": "s1"}],
        },
    ]
}


def test_feedback_is_stored_and_answered_with_an_empty_object(app: Harness) -> None:
    response = app.client.post("/cds-services/test-order-sign/feedback", json=FEEDBACK)

    assert response.status_code == 200
    assert response.json() == {}
    ((service_id, items),) = app.store.saved
    assert service_id == "test-order-sign"
    assert [(i.card, i.outcome) for i in items] == [
        ("9368d37b-283f-44a0-93ea-547cebab93ed", "overridden"),
        ("c2", "accepted"),
    ]
    assert items[0].override_reason is not None and items[0].override_reason.user_comment == "n/a"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"feedback": []}, "feedback"),
        ({}, "feedback"),
        ({"feedback": [{"card": "c", "outcome": "ignored", "outcomeTimestamp": "t"}]}, "feedback[0].outcome"),
        ({"feedback": [{"card": "c", "outcome": "accepted"}]}, "feedback[0].outcomeTimestamp"),
        ({"feedback": [{"card": 5, "outcome": "accepted", "outcomeTimestamp": "t"}]}, "feedback[0].card"),
    ],
)
def test_malformed_feedback_is_a_400_naming_the_field(app: Harness, body: dict[str, Any], field: str) -> None:
    response = app.client.post("/cds-services/test-order-sign/feedback", json=body)

    assert response.status_code == 400
    assert issue(response)["expression"] == [field]
    assert app.store.saved == []


def test_feedback_that_is_not_json_is_a_400(app: Harness) -> None:
    response = app.client.post("/cds-services/test-order-sign/feedback", content=b"{")

    assert response.status_code == 400
    assert issue(response)["code"] == "structure"


# --- CORS ------------------------------------------------------------------------------------------

PREFLIGHT = {
    "Origin": "https://ehr.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def test_a_preflight_is_answered_without_a_token(make_app: Callable[..., Harness]) -> None:
    secured = make_app(ProtocolConfig(auth_enabled=True))

    response = secured.client.options(PV, headers=PREFLIGHT)

    assert 200 <= response.status_code < 300
    assert response.headers["access-control-allow-origin"] == "*"
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize(
    "method, path, kwargs, status",
    [
        ("post", PV, {"json": hook_body()}, 200),
        ("post", PV, {"json": {"hook": "patient-view"}}, 400),
        ("post", "/cds-services/nope", {"json": hook_body()}, 404),
        ("get", "/cds-services", {}, 200),
    ],
)
def test_every_answer_carries_the_allowed_origin(
    app: Harness, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = app.client.request(method, path, headers={"Origin": "https://ehr.example"}, **kwargs)

    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == "*"


def test_the_413_carries_the_allowed_origin(small_app: Harness) -> None:
    response = small_app.client.post(PV, content=b"x" * 3_000, headers={"Origin": "https://ehr.example"})

    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == "*"


def test_configured_origins_are_echoed_and_others_are_not(make_app: Callable[..., Harness]) -> None:
    harness = make_app(ProtocolConfig(auth_enabled=False, cors_origins=("https://ehr.example",)))

    ours = harness.client.get("/cds-services", headers={"Origin": "https://ehr.example"})
    theirs = harness.client.get("/cds-services", headers={"Origin": "https://evil.example"})

    assert ours.headers["access-control-allow-origin"] == "https://ehr.example"
    assert "access-control-allow-origin" not in theirs.headers
