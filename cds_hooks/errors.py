"""Every error the protocol answers with, as a FHIR OperationOutcome.

A :class:`CdsError` carries the HTTP status and one OperationOutcome issue. Raise it anywhere in the
protocol layer (or in a service handler) and the router's exception handler turns it into the
response, so no error path needs its own response code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from starlette.responses import JSONResponse

IssueCode = Literal[
    "invalid",
    "structure",
    "required",
    "value",
    "not-found",
    "not-supported",
    "security",
    "processing",
    "too-long",
    "timeout",
    "transient",
    "exception",
]


# The JSON Schema of every error answer, for OpenAPI documents.
OPERATION_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"type": "string"},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def operation_outcome(code: IssueCode, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_response(status: int, code: IssueCode, diagnostics: str, expression: str) -> JSONResponse:
    """An OperationOutcome answer for a route outside the hooks (``application/fhir+json``)."""
    return JSONResponse(
        operation_outcome(code, diagnostics, expression),
        status_code=status,
        media_type="application/fhir+json",
    )


class CdsError(Exception):
    """An error answer: HTTP status plus one OperationOutcome issue."""

    def __init__(
        self,
        status: int,
        code: IssueCode,
        diagnostics: str,
        expression: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
        self.headers = dict(headers or {})

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.code, self.diagnostics, self.expression)


def invalid(field: str, problem: str, code: IssueCode = "invalid") -> CdsError:
    """400 for a request that breaks the spec; ``field`` is the path of the offending element."""
    return CdsError(400, code, f"{field}: {problem}", expression=field)


def unavailable(problem: str, code: IssueCode = "processing") -> CdsError:
    """412: the data the service needs cannot be had (no prefetch, no usable FHIR server)."""
    return CdsError(412, code, problem)


class Unauthorized(CdsError):
    """401 with no detail: a client probing the verifier learns nothing about why it failed."""

    def __init__(self) -> None:
        super().__init__(401, "security", "unauthorized", headers={"WWW-Authenticate": "Bearer"})


class CardContractError(RuntimeError):
    """A service handler returned cards that break the CDS Hooks card contract (a bug, not a client error)."""
