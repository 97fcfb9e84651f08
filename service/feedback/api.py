"""``GET /suppressions?patient=<id>`` (what is quiet, and until when) and ``DELETE /suppressions/<id>``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session, sessionmaker

from cds_hooks.errors import OPERATION_OUTCOME_SCHEMA, outcome_response
from service.persistence.models import Suppression
from service.persistence.suppressions import lift_topic_of, listing

_FHIR_JSON = "application/fhir+json"
# The id's form, documented but checked by the route: anything else is a 400 OperationOutcome, not a 422.
_ID = Path(json_schema_extra={"pattern": "^[0-9]+$"})


def router(
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    settle: Callable[..., bool] | None = None,
) -> APIRouter:
    """``settle(patient, timeout=...)`` waits for the writes behind this process's answers."""
    api = APIRouter()

    @api.get("/suppressions", response_model=None)
    def list_suppressions(patient: str | None = None) -> Any:
        # Plain (sync) endpoints: FastAPI runs them in its thread pool, off the event loop.
        if not patient or not _bare(patient):
            return outcome_response(400, "required", "query parameter 'patient' is required", "patient")
        if settle is not None:
            settle(_bare(patient), timeout=2.0)
        with session_factory() as session:
            rows = listing(session, _bare(patient), clock())
        return [_json(row) for row in rows]

    @api.delete(
        "/suppressions/{suppression_id}",
        status_code=204,
        response_model=None,
        responses={
            404: {
                "description": "No such suppression",
                "content": {_FHIR_JSON: {"schema": OPERATION_OUTCOME_SCHEMA}},
            }
        },
    )
    def lift_suppression(suppression_id: Annotated[str, _ID]) -> Any:
        if not suppression_id.isdigit():
            return outcome_response(400, "value", "a suppression id is a number", "id")
        if settle is not None:
            settle(timeout=2.0)
        row = None
        if int(suppression_id) < 2**63:  # a larger number names no row (and overflows a BIGINT)
            with session_factory.begin() as session:
                row = lift_topic_of(session, int(suppression_id), clock())
        if row is None:
            return outcome_response(404, "not-found", f"no suppression {suppression_id}", "id")
        return Response(status_code=204)

    return api


def _bare(patient: str) -> str:
    """``Patient/123`` or ``123`` → ``123``, as the hooks store it."""
    return patient.strip().removeprefix("Patient/")


def _json(row: Suppression) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient": row.patient_id,
        "topic": row.topic,
        "kind": row.kind,  # "quiet": patient-view cards and reminders; "draft": order-time cards
        "reason": row.reason,
        "indicator": row.indicator,
        "drafts": row.drafts,
        "card": row.card_uuid,
        "from": row.starts.isoformat(),
        "until": row.until.isoformat(),
    }
