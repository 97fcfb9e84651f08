"""Observation (and fall-risk Procedure) -> Measurement in the concept's canonical unit.

Only final/amended/corrected/preliminary results count; the date is effective[x], else issued; only
valueQuantity is a value, and a reported bound (">60") counts as its value. Components are read too (a DXA
panel carries its T-scores as components). A pregnancy test (hCG presence) is qualitative: positive 1.0,
negative 0.0, from valueCodeableConcept, valueString or the interpretation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mappings._context import LAB_NAMES, Context, recognise
from mappings._errors import MappingError
from mappings._fhir import Resource, as_dict, as_list, as_str, codings, concept_text, resource_time
from mappings._units import UnitError, to_canonical
from mappings._validate import validate
from mappings.concepts import LAB_CONCEPTS, LABS
from service.kernel.record import Lab, Measurement, Reported

COUNTED = frozenset({"final", "amended", "corrected", "preliminary"})
# A reported bound counts as its value. Labs write one when the true value lies beyond it ("eGFR >60",
# "25-OH vitamin D <8"), and the bounds they use lie beyond the rules' thresholds (>60 is not < 35 or < 60,
# <8 is < 20): the bound gives the answer the true value would, where ignoring it would lose the result.
_BOUNDS = frozenset({"<", "<=", ">=", ">"})
_PROCEDURE_DONE = frozenset({"completed", "in-progress"})
_VALUE_FIELDS = (
    "valueString",
    "valueCodeableConcept",
    "valueInteger",
    "valueBoolean",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


def map_observation(resource: Resource, label: str, ctx: Context) -> list[Measurement]:
    if as_str(resource.get("status")) not in COUNTED:
        return []
    main = recognise(resource.get("code"), LAB_CONCEPTS, LAB_NAMES)
    parts: list[tuple[str, str, Mapping[str, Any]]] = [(c, "Observation", resource) for c in main.concepts]
    for i, component in enumerate(as_list(resource.get("component"))):
        component = as_dict(component)
        found = recognise(component.get("code"), LAB_CONCEPTS, LAB_NAMES)
        parts += [(c, f"Observation.component[{i}]", component) for c in found.concepts]
    if not parts:
        return []
    validate(resource, label)
    at = resource_time(resource, label, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
    if at is None:
        ctx.note(f"{label}: no effective date or issued; ignored")
        return []
    out = []
    for concept, path, holder in sorted(parts, key=lambda p: (p[1], p[0])):
        lab, site = LABS[concept]
        if lab is Lab.FALL_RISK_ASSESSMENT:
            out.append(Measurement(lab, None, at, label, site))
            continue
        if lab is Lab.HCG:
            result = _presence(holder)
            if result is None:
                ctx.note(f"{label}: {concept} result not read as positive or negative; ignored")
            else:
                out.append(Measurement(lab, result, at, label))
            continue
        value = _quantity(holder, path, label, concept, ctx)
        if value is not None:
            out.append(Measurement(lab, value[0], at, label, site, value[1], value[2]))
    return out


# HL7 v3 ObservationInterpretation codes of a qualitative result, and the words results are written in.
_POSITIVE_CODES = frozenset({"POS", "DET"})
_NEGATIVE_CODES = frozenset({"NEG", "ND"})
_NEGATIVE = re.compile(r"\bneg(ative)?\b|\bnot[ -]detected\b|\bnon[- ]?reactive\b|阴性|未检出")
_POSITIVE = re.compile(r"\bpos(itive)?\b|\bdetected\b|\breactive\b|阳性|检出")


def _presence(holder: Mapping[str, Any]) -> float | None:
    """1.0 for a positive qualitative result, 0.0 for a negative one, None when it says neither (or both).

    Read leniently (a malformed value or interpretation says neither), as elements outside valueQuantity
    are not validated.
    """
    answers: set[float] = set()
    value = holder.get("valueCodeableConcept")
    texts = [concept_text(value)] if value is not None else []
    if isinstance(holder.get("valueString"), str):
        texts.append(holder["valueString"])
    for concept in [value, *as_list(holder.get("interpretation"))]:
        for coding in codings(concept):
            if coding.code in _POSITIVE_CODES:
                answers.add(1.0)
            elif coding.code in _NEGATIVE_CODES:
                answers.add(0.0)
    texts += [concept_text(concept) for concept in as_list(holder.get("interpretation"))]
    for text in texts:
        lower = text.lower()
        if _NEGATIVE.search(lower):
            answers.add(0.0)
        elif _POSITIVE.search(lower):
            answers.add(1.0)
    return answers.pop() if len(answers) == 1 else None


def presence_from_procedure(
    resource: Resource, label: str, ctx: Context, lab: Lab = Lab.FALL_RISK_ASSESSMENT
) -> list[Measurement]:
    """A fall-risk assessment or a DXA scan done: a Measurement of ``lab`` by presence."""
    if as_str(resource.get("status")) not in _PROCEDURE_DONE:
        return []
    at = resource_time(resource, label, "performedDateTime", "performedPeriod")
    if at is None:
        what = "fall-risk assessment" if lab is Lab.FALL_RISK_ASSESSMENT else f"{lab.value} procedure"
        ctx.note(f"{label}: {what} without a date; ignored")
        return []
    return [Measurement(lab, None, at, label)]


def _quantity(
    holder: Mapping[str, Any], path: str, label: str, concept: str, ctx: Context
) -> tuple[float, str | None, Reported | None] | None:
    """(canonical value, unit, as reported) of a valueQuantity; None (with a note) when there is no usable
    one. The reported unit is the quantity's text (what the lab printed), else its code."""
    quantity = holder.get("valueQuantity")
    if not isinstance(quantity, Mapping):
        kind = next((f for f in _VALUE_FIELDS if f in holder), "no value")
        ctx.note(f"{label}: {concept} has {kind}, not valueQuantity; ignored")
        return None
    raw = quantity.get("value")
    if raw is None:
        ctx.note(f"{label}: {concept} valueQuantity without value; ignored")
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        raise MappingError(label, f"{path}.valueQuantity.value", "not a number")
    try:
        number = float(raw)
    except ValueError as exc:
        raise MappingError(label, f"{path}.valueQuantity.value", "not a number") from exc
    comparator = quantity.get("comparator")
    if comparator is not None:
        if comparator not in _BOUNDS:
            ctx.note(f"{label}: {concept} value with comparator {comparator!s}; ignored")
            return None
        ctx.note(f"{label}: {concept} value with comparator {comparator}; its bound is used")
    unit = quantity.get("code") if isinstance(quantity.get("code"), str) else None
    text = quantity.get("unit") if isinstance(quantity.get("unit"), str) else None
    lab = LABS[concept][0]
    shown = (text or unit or "").strip()
    reported = Reported(number, shown) if shown else None
    for candidate in dict.fromkeys([unit, text]) if (unit or text) else [None]:
        try:
            return (*to_canonical(lab, number, candidate), reported)
        except UnitError:
            continue
    ctx.note(f"{label}: {concept} unit {unit or text!s} not convertible; ignored")
    return None
