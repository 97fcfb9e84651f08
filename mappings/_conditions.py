"""Condition (and dialysis or palliative-care Procedure) -> ConditionFact, following rules.md "Shared definitions"."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from mappings._context import CONDITION_NAMES, Context, recognise
from mappings._errors import MappingError
from mappings._fhir import Resource, as_dict, as_str, codings, first_time, parse_date, status_code
from mappings._validate import validate
from mappings.concepts import CONDITION_CONCEPTS, PROBLEMS
from service.kernel.record import ConditionFact, Problem

_NOT_ACTIVE = frozenset({"inactive", "resolved", "remission"})
_NOT_TRUE = frozenset({"refuted", "entered-in-error"})
_PROCEDURE_DONE = frozenset({"completed", "in-progress"})


def map_condition(resource: Resource, label: str, ctx: Context) -> list[ConditionFact]:
    found = recognise(resource.get("code"), CONDITION_CONCEPTS, CONDITION_NAMES)
    if not found.concepts:
        return []
    if status_code(resource.get("verificationStatus")) in _NOT_TRUE:
        return []
    validate(resource, label)
    active = status_code(resource.get("clinicalStatus")) not in _NOT_ACTIVE
    onset = _date(resource, label, "onsetDateTime", "onsetPeriod", "recordedDate")
    return [
        ConditionFact(PROBLEMS[c], active, onset, label, _display(resource)) for c in sorted(found.concepts)
    ]


def problem_from_procedure(
    resource: Resource, label: str, ctx: Context, problems: Iterable[Problem]
) -> list[ConditionFact]:
    """A dialysis or palliative/hospice-care procedure done or under way, dated by its performed date.

    ``from_procedure`` tells the rules that it counts only within its window (rules.md r3: 92 days).
    """
    if as_str(resource.get("status")) not in _PROCEDURE_DONE:
        return []
    onset = _date(resource, label, "performedDateTime", "performedPeriod")
    display = _display(resource)
    return [
        ConditionFact(problem, True, onset, label, display, from_procedure=True)
        for problem in sorted(problems, key=lambda p: p.value)
    ]


def _date(resource: Resource, label: str, *fields: str) -> date | None:
    found = first_time(resource, *fields)
    if found is None:
        return None
    path, value = found
    try:
        return parse_date(value)
    except ValueError as exc:
        rtype = as_str(resource.get("resourceType")) or "Resource"
        raise MappingError(label, f"{rtype}.{path}", "not a FHIR date") from exc


def _display(resource: Resource) -> str | None:
    code = as_dict(resource.get("code"))
    text = as_str(code.get("text"))
    if text:
        return text
    return next((c.display for c in codings(code) if c.display), None)
