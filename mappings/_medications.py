"""Medication resources -> MedicationExposure with the drug classes of rules.md.

A drug is recognised by its codes (RxNorm ingredient to branded product, ATC), failing that by its
generic or brand name in text/display. Oncology regimens of denosumab (120 mg, Xgeva) and zoledronic
acid (4 mg, Zometa) are recognised by code, brand or the strength in the product's own text, never by
the dosage instructions, and get their own class (DENOSUMAB_ONCOLOGY, ZOLEDRONIC_ACID_ONCOLOGY) and no
other (rules.md r3). Alendronate with cholecalciferol (Fosamax Plus D) is not vitamin D repletion.

Every status reaches the record (the rules decide what counts): a MedicationRequest cancelled, stopped or
completed, a MedicationStatement stopped, not-taken or intended; only entered-in-error (and the
administration and dispense states that are no exposure) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mappings._context import DRUG_NAMES, TERMINOLOGY, Context, medication_concept, recognise
from mappings._fhir import Resource, as_dict, as_str, codings, concept_text, resource_time
from mappings._memo import by_content
from mappings._terminology import normalise_text
from mappings._validate import validate
from mappings.concepts import DRUG_CONCEPTS, DRUGS, ONCOLOGY
from service.kernel.record import Coding, DrugClass, ExposureKind, MedicationExposure

# kind -> (statuses that reach the record, statuses that are "active", time fields). Which of them are an
# exposure is rules.md "Exposure" (MedicationExposure.is_exposure); the others are the newest word on a course.
_RULES: dict[ExposureKind, tuple[frozenset[str], frozenset[str], tuple[str, ...]]] = {
    ExposureKind.REQUEST: (
        frozenset({"active", "on-hold", "completed", "stopped", "cancelled"}),
        frozenset({"active", "on-hold"}),
        ("authoredOn",),
    ),
    ExposureKind.ADMINISTRATION: (
        frozenset({"completed", "in-progress"}),
        frozenset(),
        ("effectiveDateTime", "effectivePeriod"),
    ),
    # rules.md "Exposure": active/completed are exposures; stopped/not-taken say a course ended (denosumab
    # "Stopped"), intended is a plan: they reach the record for the rules to read, never as "active"
    ExposureKind.STATEMENT: (
        frozenset({"active", "completed", "stopped", "not-taken", "intended", "on-hold"}),
        frozenset({"active"}),
        ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
    ),
    ExposureKind.DISPENSE: (frozenset({"completed"}), frozenset(), ("whenHandedOver",)),
}
_KINDS = {kind.value: kind for kind in ExposureKind}
_ONCOLOGY_STRENGTH = {
    concept: (DRUGS[rule["ingredient_concept"]], [re.compile(p) for p in rule["strength_patterns"]])
    for concept, rule in TERMINOLOGY.oncology.items()
}
_NOT_VITAMIN_D_REPLETION = [
    re.compile(rule["pattern"])
    for rule in TERMINOLOGY.combination_exceptions
    if "native-vitamin-d" in rule["remove"]
]
_IBANDRONATE = re.compile(TERMINOLOGY.ibandronate_iv["ingredient"])
_INJECTABLE = re.compile(TERMINOLOGY.ibandronate_iv["form"])
_CHINESE_UNITS = (("毫克", "mg"), ("毫升", "ml"), ("微克", "mcg"))


@dataclass(frozen=True, slots=True)
class Drug:
    classes: frozenset[DrugClass]
    name: str
    coding: Coding | None


def kind_of(resource: Resource) -> ExposureKind | None:
    rtype = resource.get("resourceType")
    return _KINDS.get(rtype) if isinstance(rtype, str) else None


@by_content(maxsize=2048)
def classify(concept: object) -> Drug | None:
    """The classes of a medication CodeableConcept; None when it is not ours or is an oncology regimen.

    Memoised by the concept's content: a chart renews the same dozen drugs at every visit.
    """
    found = recognise(concept, DRUG_CONCEPTS, DRUG_NAMES)
    if not found.concepts:
        return None
    text = normalise_text(concept_text(concept))
    for chinese, unit in _CHINESE_UNITS:
        text = text.replace(chinese, unit)
    coding = found.coding
    domain_coding = Coding(coding.system or "", coding.code or "", coding.display) if coding else None
    name = _name(concept, coding.display if coding else None)
    oncology = set((found.concepts | DRUG_NAMES.find(text)) & set(ONCOLOGY))
    classes = {DRUGS[c] for c in found.concepts if c in DRUGS}
    for concept_id, (ingredient, patterns) in _ONCOLOGY_STRENGTH.items():
        if ingredient in classes and any(p.search(text) for p in patterns):
            oncology.add(concept_id)
    if oncology:  # never also the osteoporosis classes
        return Drug(frozenset(ONCOLOGY[c] for c in oncology), name, domain_coding)
    if DrugClass.NATIVE_VITAMIN_D in classes and any(p.search(text) for p in _NOT_VITAMIN_D_REPLETION):
        classes.discard(DrugClass.NATIVE_VITAMIN_D)
    if DrugClass.BISPHOSPHONATE in classes and _IBANDRONATE.search(text) and _INJECTABLE.search(text):
        classes.add(DrugClass.BISPHOSPHONATE_IV)
    if DrugClass.ZOLEDRONIC_ACID in classes:
        classes.add(DrugClass.BISPHOSPHONATE_IV)
    if DrugClass.BISPHOSPHONATE_IV in classes:
        classes.add(DrugClass.BISPHOSPHONATE)
    if not classes:
        return None
    return Drug(frozenset(classes), name, domain_coding)


def map_medication(resource: Resource, label: str, ctx: Context) -> list[MedicationExposure]:
    kind = kind_of(resource)
    if kind is None:
        return []
    counted, active, time_fields = _RULES[kind]
    status = as_str(resource.get("status"))
    if status not in counted:
        return []
    drug = _drug(resource, label, ctx)
    if drug is None:
        return []
    at = resource_time(resource, label, *time_fields)
    start = end = asserted = None
    if kind is ExposureKind.STATEMENT:
        period = as_dict(resource.get("effectivePeriod"))
        start = resource_time(period, label, "start", rtype="MedicationStatement.effectivePeriod")
        end = resource_time(period, label, "end", rtype="MedicationStatement.effectivePeriod")
        asserted = resource_time(resource, label, "dateAsserted")
    return [
        MedicationExposure(
            drug.classes,
            drug.name,
            kind,
            str(status),
            at,
            status in active,
            label,
            False,
            drug.coding,
            period_start=start,
            period_end=end,
            asserted=asserted,
        )
    ]


def map_draft(resource: Resource, label: str, ctx: Context) -> list[MedicationExposure]:
    """A draft order the hook asks about: active, dated by authoredOn; incomplete drafts are skipped."""
    kind = kind_of(resource)
    if kind is None:
        return []
    filled = _fill_draft(resource, ctx.patient_id)
    drug = _drug(filled, label, ctx)
    if drug is None:
        return []
    at = resource_time(filled, label, "authoredOn")
    status = as_str(resource.get("status")) or "draft"
    return [MedicationExposure(drug.classes, drug.name, kind, status, at, True, label, True, drug.coding)]


def _drug(resource: Resource, label: str, ctx: Context) -> Drug | None:
    found = medication_concept(resource, ctx)
    if found is None:
        if "medicationReference" in resource:
            ctx.note(f"{label}: medicationReference not found in the input; ignored")
        return None
    concept, medication = found
    drug = classify(concept)
    if drug is None:
        return None
    validate(resource, label)
    if medication is not None and medication is not resource and "contained" not in resource:
        validate(medication, f"Medication/{medication.get('id')}")
    return drug


def _fill_draft(resource: Resource, patient_id: str) -> Mapping[str, Any]:
    """EHRs call order-select while the order is typed: supply the required elements still missing."""
    filled = dict(resource)
    if filled.get("resourceType") == "MedicationRequest":
        filled.setdefault("status", "draft")
        filled.setdefault("intent", "proposal")
    filled.setdefault("subject", {"reference": f"Patient/{patient_id}"})
    return filled


def _name(concept: object, display: str | None) -> str:
    text = as_str(as_dict(concept).get("text"))
    if text:
        return text
    if display:
        return display
    for coding in codings(concept):
        if coding.display or coding.code:
            return coding.display or coding.code or ""
    return "medication"
