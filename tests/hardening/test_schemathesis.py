"""Schemathesis against the app's own OpenAPI document: requests generated from every documented
operation (hook bodies per hook, feedback, discovery, reminders) never get a 5xx, and every answer
has a documented status, content type and body shape. A few examples per operation keep it fast.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hardening.conftest import MakeApp

CLOSED_PORT = "http://127.0.0.1:9/fhir"  # nothing listens: a fetch is a quick 412, never traffic out
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _operations(make_app: MakeApp) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", make_app().app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is invalid: {result.err()}"
        operations.append(result.ok())
    return operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_documented_operation_answers_as_documented(make_app: MakeApp, mode: GenerationMode) -> None:
    operations = _operations(make_app)
    assert len(operations) >= 6  # discovery, three hooks, feedback, reminders

    for operation in operations:
        inputs = [operation.body, operation.query, operation.path_parameters]
        if mode is GenerationMode.NEGATIVE and not any(len(list(i)) for i in inputs):
            continue  # discovery takes no input, so nothing invalid can be generated for it

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def answers_as_documented(case: schemathesis.Case) -> None:
            if isinstance(case.body, dict) and "fhirServer" in case.body:
                case.body["fhirServer"] = CLOSED_PORT  # generated URLs must never send the service outside
            case.call_and_validate(checks=CHECKS)

        answers_as_documented()


def test_the_document_describes_each_hook_body(make_app: MakeApp) -> None:
    document = make_app().get("/openapi.json").json()
    operation = document["paths"]["/cds-services/bone-health-order-select"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]

    assert body["properties"]["hook"]["enum"] == ["order-select"]
    assert set(body["properties"]["context"]["required"]) == {
        "userId",
        "patientId",
        "draftOrders",
        "selections",
    }
    assert {"200", "400", "401", "412", "413"} <= set(operation["responses"])
    assert "/cds-services/{service_id}" not in document["paths"]  # unknown ids are 404s, not an operation
