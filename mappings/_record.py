"""build_record: the raw FHIR the EHR sent (or we fetched) -> one PatientRecord for the rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from mappings._conditions import map_condition, problem_from_procedure
from mappings._context import PROCEDURE_NAMES, Context, recognise
from mappings._errors import MappingError
from mappings._fhir import Resource, as_str, flatten, label, parse_date
from mappings._medications import map_draft, map_medication
from mappings._observations import map_observation, presence_from_procedure
from mappings._orders import map_allergy, map_diagnostic_report, map_service_request
from mappings._validate import validate
from mappings.concepts import PROBLEMS, PROCEDURE_CONCEPTS, PROCEDURE_PROBLEMS
from service.kernel.record import (
    Allergy,
    ConditionFact,
    Lab,
    Measurement,
    MedicationExposure,
    Patient,
    PatientRecord,
    Sex,
    TestOrder,
)

_MEDICATIONS = ("MedicationRequest", "MedicationAdministration", "MedicationStatement", "MedicationDispense")


def build_record(
    patient_id: str,
    resources: Iterable[Mapping[str, Any]],
    drafts: Iterable[Mapping[str, Any]] = (),
    *,
    allergies_known: bool = False,
) -> PatientRecord:
    """Everything the rules read about ``patient_id``, in canonical units, sorted by time.

    Resources of other types or about other patients are ignored; a resource that maps to a concept
    but is malformed raises MappingError (the app answers 400). ``allergies_known``: the caller had the
    patient's AllergyIntolerances (the EHR sent them, even none, or they were fetched); any
    AllergyIntolerance among ``resources`` says so too.
    """
    pid = patient_id.rsplit("/", 1)[-1]
    ctx = Context(pid)
    flat = list(flatten(resources))
    draft_flat = list(flatten(drafts))
    for resource, full_url in flat + draft_flat:  # a draft may reference a Medication sent with the drafts
        ctx.index(resource, full_url)
    patient: Patient | None = None
    conditions: list[ConditionFact] = []
    measurements: list[Measurement] = []
    medications: list[MedicationExposure] = []
    orders: list[TestOrder] = []
    allergies: list[Allergy] = []
    for position, (resource, _) in enumerate(flat):
        rtype = resource.get("resourceType")
        where = label(resource, position)
        if rtype == "Patient":
            if patient is None and resource.get("id") == pid:
                patient = _patient(resource, where, pid)
            continue
        handler = _HANDLERS.get(rtype) if isinstance(rtype, str) else None
        if handler is None or not ctx.about_patient(resource):
            continue
        allergies_known = allergies_known or rtype == "AllergyIntolerance"
        for fact in handler(resource, where, ctx):
            if isinstance(fact, ConditionFact):
                conditions.append(fact)
            elif isinstance(fact, Measurement):
                measurements.append(fact)
            elif isinstance(fact, TestOrder):
                orders.append(fact)
            elif isinstance(fact, Allergy):
                allergies.append(fact)
            else:
                medications.append(fact)
    draft_list: list[MedicationExposure] = []
    for position, (resource, _) in enumerate(draft_flat):
        draft_list += map_draft(resource, label(resource, position), ctx)
    return PatientRecord(
        patient=patient or Patient(pid),
        conditions=tuple(sorted(conditions, key=_condition_order)),
        measurements=tuple(sorted(measurements, key=lambda m: (m.at, m.lab.value, m.source))),
        medications=tuple(sorted(medications, key=_medication_order)),
        drafts=tuple(sorted(draft_list, key=_medication_order)),
        test_orders=tuple(sorted(orders, key=_order_order)),
        allergies=tuple(sorted(allergies, key=lambda a: a.source)),
        allergies_known=allergies_known,
        notes=tuple(ctx.notes),
    )


def _procedure(resource: Resource, where: str, ctx: Context) -> list[ConditionFact | Measurement]:
    found = recognise(resource.get("code"), PROCEDURE_CONCEPTS, PROCEDURE_NAMES)
    if not found.concepts:
        return []
    validate(resource, where)
    out: list[ConditionFact | Measurement] = []
    if Lab.FALL_RISK_ASSESSMENT.value in found.concepts:
        out += presence_from_procedure(resource, where, ctx, Lab.FALL_RISK_ASSESSMENT)
    if Lab.BMD.value in found.concepts:  # a DXA scan: a BMD result by presence (rules.md r3)
        out += presence_from_procedure(resource, where, ctx, Lab.BMD)
    problems = {PROBLEMS[c] for c in found.concepts if c in PROBLEMS} & PROCEDURE_PROBLEMS
    if problems:
        out += problem_from_procedure(resource, where, ctx, problems)
    return out


_Fact = ConditionFact | Measurement | MedicationExposure | TestOrder | Allergy
_Handler = Callable[[Resource, str, Context], Iterable[_Fact]]
_HANDLERS: dict[str, _Handler] = {
    "Condition": map_condition,
    "Observation": map_observation,
    "Procedure": _procedure,
    "DiagnosticReport": map_diagnostic_report,
    "ServiceRequest": map_service_request,
    "AllergyIntolerance": map_allergy,
    **{rtype: map_medication for rtype in _MEDICATIONS},
}


def _patient(resource: Resource, where: str, pid: str) -> Patient:
    validate(resource, where)
    gender = as_str(resource.get("gender"))
    sex = Sex(gender) if gender in {s.value for s in Sex} else Sex.UNKNOWN
    birth: date | None = None
    if resource.get("birthDate") is not None:
        try:
            birth = parse_date(resource["birthDate"])
        except ValueError as exc:
            raise MappingError(where, "Patient.birthDate", "not a FHIR date") from exc
    deceased = resource.get("deceasedBoolean") is True or resource.get("deceasedDateTime") is not None
    return Patient(pid, sex, birth, deceased)


def _condition_order(fact: ConditionFact) -> tuple[bool, date, str, str]:
    return (fact.onset is not None, fact.onset or date.min, fact.problem.value, fact.source)


def _order_order(order: TestOrder) -> tuple[bool, datetime, str, str]:
    return (order.authored is not None, order.authored or datetime.min, order.lab.value, order.source)


def _medication_order(exposure: MedicationExposure) -> tuple[bool, datetime, str]:
    return (exposure.at is not None, exposure.at or datetime.min, exposure.source)
