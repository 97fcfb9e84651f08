"""Revision 3 sources of the record: test orders (ServiceRequest), DXA reports (DiagnosticReport) and drug
allergies (AllergyIntolerance).

- A ServiceRequest for a test the rules track becomes a TestOrder with its status as sent (the rules decide
  which count: rules.md "Ordered, not yet resulted"); one entered in error is dropped.
- A DiagnosticReport coded as a DXA study, BMD, T- or Z-score (or CPT 77080/77081) is a BMD result by
  presence (rules.md "BMD result"), dated by effective[x], else issued.
- An AllergyIntolerance that is active (clinicalStatus active or absent) and not refuted or entered in error,
  whose code is a drug of our classes (recognised as medications are: codes, then names), becomes an Allergy.
  An allergy to an oncology regimen is an allergy to its ingredient too (Xgeva: denosumab).
"""

from __future__ import annotations

from mappings._context import LAB_NAMES, Context, recognise
from mappings._fhir import Resource, as_dict, as_str, codings, resource_time, status_code
from mappings._medications import classify
from mappings._validate import validate
from mappings.concepts import DXA_REPORT_CONCEPTS, ORDERED_TESTS
from service.kernel.record import Allergy, DrugClass, Lab, Measurement, TestOrder

_ORDER_CONCEPTS = frozenset(ORDERED_TESTS)
_REPORT_COUNTED = frozenset({"final", "amended", "corrected", "appended", "preliminary", "partial"})
_ALLERGY_INACTIVE = frozenset({"inactive", "resolved"})
_ALLERGY_NOT_TRUE = frozenset({"refuted", "entered-in-error"})
_INGREDIENT: dict[DrugClass, frozenset[DrugClass]] = {
    DrugClass.DENOSUMAB_ONCOLOGY: frozenset({DrugClass.DENOSUMAB}),
    DrugClass.ZOLEDRONIC_ACID_ONCOLOGY: frozenset(
        {DrugClass.ZOLEDRONIC_ACID, DrugClass.BISPHOSPHONATE_IV, DrugClass.BISPHOSPHONATE}
    ),
}


def map_service_request(resource: Resource, label: str, ctx: Context) -> list[TestOrder]:
    status = as_str(resource.get("status"))
    if status == "entered-in-error":
        return []
    found = recognise(resource.get("code"), _ORDER_CONCEPTS, LAB_NAMES)
    labs = {ORDERED_TESTS[c] for c in found.concepts}
    if not labs:
        return []
    validate(resource, label)
    authored = resource_time(resource, label, "authoredOn")
    return [
        TestOrder(lab, status or "unknown", authored, label) for lab in sorted(labs, key=lambda x: x.value)
    ]


def map_diagnostic_report(resource: Resource, label: str, ctx: Context) -> list[Measurement]:
    found = recognise(resource.get("code"), DXA_REPORT_CONCEPTS, LAB_NAMES)
    if not found.concepts or as_str(resource.get("status")) not in _REPORT_COUNTED:
        return []
    validate(resource, label)
    at = resource_time(resource, label, "effectiveDateTime", "effectivePeriod", "issued")
    if at is None:
        ctx.note(f"{label}: DXA report without an effective date or issued; ignored")
        return []
    return [Measurement(Lab.BMD, None, at, label)]


def map_allergy(resource: Resource, label: str, ctx: Context) -> list[Allergy]:
    if status_code(resource.get("verificationStatus")) in _ALLERGY_NOT_TRUE:
        return []
    if status_code(resource.get("clinicalStatus")) in _ALLERGY_INACTIVE:
        return []
    drug = classify(resource.get("code"))
    if drug is None:
        return []
    validate(resource, label)
    classes = set(drug.classes)
    for oncology, ingredient in _INGREDIENT.items():  # an allergy to Xgeva is an allergy to denosumab
        if oncology in classes:
            classes |= ingredient
    return [Allergy(frozenset(classes), label, _display(resource))]


def _display(resource: Resource) -> str | None:
    code = as_dict(resource.get("code"))
    text = as_str(code.get("text"))
    if text:
        return text
    return next((c.display for c in codings(code) if c.display), None)
