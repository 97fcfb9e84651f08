"""The OpenAPI description of the CDS Hooks endpoints: request bodies per hook and every answer.

The endpoints read raw bytes (the protocol validates them itself, to answer 400 OperationOutcomes
rather than FastAPI's 422), so FastAPI cannot infer these schemas: they are written here from the
same rules ``_request`` enforces. EHR integrators read them in /docs; the schemathesis test in CI
generates requests from them and checks every answer against them.
"""

from __future__ import annotations

from typing import Any

from cds_hooks.errors import OPERATION_OUTCOME_SCHEMA as OPERATION_OUTCOME
from cds_hooks.models import Card

JSONSchema = dict[str, Any]

RESOURCE: JSONSchema = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string", "minLength": 1}},
}
BUNDLE: JSONSchema = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "entry": {"type": "array", "items": {"type": "object", "properties": {"resource": RESOURCE}}},
    },
}
_CONTEXT_FIELDS: dict[str, JSONSchema] = {
    "userId": {"type": "string", "minLength": 1},
    "patientId": {"type": "string", "pattern": r"^(Patient/)?[A-Za-z0-9\-.]{1,64}$"},
    "encounterId": {"type": "string"},
    "draftOrders": BUNDLE,
    "selections": {"type": "array", "items": {"type": "string"}},
}
_REQUIRED_CONTEXT = {
    "patient-view": ["userId", "patientId"],
    "order-select": ["userId", "patientId", "draftOrders", "selections"],
    "order-sign": ["userId", "patientId", "draftOrders"],
}
_ERRORS = {
    400: "The request breaks CDS Hooks 2.0 (malformed JSON, a missing or mistyped field)",
    401: "No valid JWT (auth on); no detail is given",
    404: "No such CDS service",
    412: "Data the service needs cannot be had (no prefetch and no usable fhirServer, or it failed)",
    413: "The request body is larger than the configured limit",
    415: "The request declares a Content-Type that is not JSON",
}


def _error(description: str) -> JSONSchema:
    return {"description": description, "content": {"application/json": {"schema": OPERATION_OUTCOME}}}


def hook_request(hook: str) -> JSONSchema:
    """The body of a call to a service answering ``hook``."""
    required = _REQUIRED_CONTEXT.get(hook, [])
    context = {
        "type": "object",
        "required": required,
        "properties": {name: _CONTEXT_FIELDS[name] for name in _CONTEXT_FIELDS if name in required}
        | {"encounterId": _CONTEXT_FIELDS["encounterId"]},
    }
    return {
        "type": "object",
        "required": ["hook", "hookInstance", "context"],
        "properties": {
            "hook": {"type": "string", "enum": [hook]},
            "hookInstance": {"type": "string", "minLength": 1, "maxLength": 128},
            "fhirServer": {"type": "string", "format": "uri"},
            "fhirAuthorization": {
                "type": "object",
                "required": ["access_token"],
                "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"}},
            },
            "context": context,
            "prefetch": {"type": "object", "additionalProperties": {"anyOf": [RESOURCE, {"type": "null"}]}},
        },
    }


def hook_operation(hook: str) -> JSONSchema:
    """``openapi_extra`` of a hook endpoint: its request body."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": hook_request(hook)}},
        }
    }


FEEDBACK_OPERATION: JSONSchema = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["feedback"],
                    "properties": {
                        "feedback": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["card", "outcome", "outcomeTimestamp"],
                                "properties": {
                                    "card": {"type": "string"},
                                    "outcome": {"type": "string", "enum": ["accepted", "overridden"]},
                                    "outcomeTimestamp": {"type": "string"},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}


def responses(*errors: int, ok: JSONSchema | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an endpoint: 200 (with ``ok`` as its body) and the listed errors."""
    answers: dict[int | str, dict[str, Any]] = {status: _error(_ERRORS[status]) for status in errors}
    if ok is not None:
        answers[200] = {"description": "Answered", "content": {"application/json": {"schema": ok}}}
    return answers


CARDS: JSONSchema = {
    "type": "object",
    "required": ["cards"],
    "properties": {"cards": {"type": "array", "items": {"type": "object"}}},
}


def cards_schema() -> JSONSchema:
    """``{"cards": [...]}`` with each card as the Card model describes it (self-contained)."""
    schema = Card.model_json_schema(by_alias=True, mode="validation")
    definitions = schema.pop("$defs", {})
    return _inline({**CARDS, "properties": {"cards": {"type": "array", "items": schema}}}, definitions)


def _inline(value: Any, definitions: dict[str, Any]) -> Any:
    """Replace ``$ref`` to ``#/$defs/X`` by X itself (the Card models have no cycles)."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {key: _inline(item, definitions) for key, item in value.items()}
    if isinstance(value, list):
        return [_inline(item, definitions) for item in value]
    return value
