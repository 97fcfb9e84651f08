"""What every mapper needs: the loaded terminology, the input's resources by reference, and the notes.

The terminology is loaded once, when the package is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mappings._fhir import (
    CodingView,
    Resource,
    as_dict,
    as_list,
    as_str,
    codings,
    concept_text,
    reference_target,
)
from mappings._memo import by_content
from mappings._terminology import NameIndex, Terminology, system_key
from mappings.concepts import CONDITION_CONCEPTS, DRUG_CONCEPTS, LAB_CONCEPTS, PROCEDURE_CONCEPTS

TERMINOLOGY = Terminology()
CONDITION_NAMES: NameIndex = TERMINOLOGY.name_index(CONDITION_CONCEPTS)
LAB_NAMES: NameIndex = TERMINOLOGY.name_index(LAB_CONCEPTS)
PROCEDURE_NAMES: NameIndex = TERMINOLOGY.name_index(PROCEDURE_CONCEPTS)
DRUG_NAMES: NameIndex = TERMINOLOGY.name_index(DRUG_CONCEPTS)


@dataclass(frozen=True, slots=True)
class Recognised:
    """The concepts a CodeableConcept maps to, and the first Coding that a value set holds."""

    concepts: frozenset[str]
    coding: CodingView | None


@by_content(maxsize=4096)
def recognise(concept: object, allowed: frozenset[str], names: NameIndex) -> Recognised:
    """Codes first; the names in text/display only when no Coding is recognised.

    Memoised by the concept's content: a chart repeats the same few dozen concepts visit after visit.
    """
    found: set[str] = set()
    first: CodingView | None = None
    for coding in codings(concept):
        hits = TERMINOLOGY.lookup(coding.system, coding.code) & allowed
        if hits:
            found |= hits
            first = first or coding
    if found:
        return Recognised(frozenset(found), first)
    if any(coding.code and system_key(coding.system) == "icd10" for coding in codings(concept)):
        # ICD-10 is hierarchical and every tracked category is listed: a code outside them is something
        # else, whatever its text says (Z49.0 "Preparatory care for dialysis" is not dialysis)
        return Recognised(frozenset(), None)
    return Recognised(names.find(concept_text(concept)) & allowed, None)


@dataclass
class Context:
    """One build: the patient asked about, the input resources by reference, what could not be read."""

    patient_id: str
    by_reference: dict[str, Resource] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _about: dict[str, bool] = field(default_factory=dict, init=False, repr=False)  # reference -> answer

    def index(self, resource: Resource, full_url: str | None) -> None:
        rtype, rid = as_str(resource.get("resourceType")), as_str(resource.get("id"))
        if rtype and rid:
            self.by_reference.setdefault(f"{rtype}/{rid}", resource)
        if full_url:
            self.by_reference.setdefault(full_url, resource)

    def resolve(self, reference: object) -> Resource | None:
        """A referenced resource of the input (by "Type/id", fullUrl or urn:uuid), if present."""
        ref = as_str(as_dict(reference).get("reference"))
        if not ref:
            return None
        found = self.by_reference.get(ref)
        if found is None:
            rtype, rid = reference_target(ref)
            found = self.by_reference.get(f"{rtype}/{rid}") if rtype else None
        return found

    def about_patient(self, resource: Resource) -> bool:
        """False only when subject/patient clearly names someone else (another Patient or a Group).

        Answered once per reference: every resource of a chart names the same subject.
        """
        ref_field = resource.get("subject", resource.get("patient"))
        ref = as_str(as_dict(ref_field).get("reference"))
        if not ref or ref.startswith("#"):
            return True
        known = self._about.get(ref)
        if known is None:
            known = self._about[ref] = self._names_the_patient(ref)
        return known

    def _names_the_patient(self, ref: str) -> bool:
        target = self.resolve({"reference": ref})
        if target is not None:
            return target.get("resourceType") == "Patient" and target.get("id") == self.patient_id
        rtype, rid = reference_target(ref)
        if rtype is not None and rtype != "Patient":
            return False
        return rid == self.patient_id

    def note(self, text: str) -> None:
        """Record what could not be read: codes and ids only, never values or names (no PHI)."""
        self.notes.append(text)


def medication_concept(resource: Mapping[str, Any], ctx: Context) -> tuple[object, Resource | None] | None:
    """The medication CodeableConcept of a Medication* resource, and the Medication it came from.

    medicationCodeableConcept, or medicationReference to a contained ("#id") or input Medication.
    None when the reference cannot be followed.
    """
    if "medicationCodeableConcept" in resource:
        return resource.get("medicationCodeableConcept"), None
    reference = resource.get("medicationReference")
    ref = as_str(as_dict(reference).get("reference"))
    if not ref:
        return None
    medication: Resource | None = None
    if ref.startswith("#"):
        for contained in as_list(resource.get("contained")):
            if isinstance(contained, Mapping) and contained.get("id") == ref[1:]:
                medication = contained
    else:
        medication = ctx.resolve(reference)
    if medication is None or medication.get("resourceType") != "Medication":
        return None
    return medication.get("code"), medication
