"""The clinical domain: what the rules know about a patient.

Plain, typed, immutable values. Nothing here knows about FHIR, HTTP, the database or Celery:
``mappings`` turns FHIR resources into a :class:`PatientRecord`, the rules read it.
Every numeric value is already in the canonical unit of its concept (see :class:`Lab`); a measurement also
keeps the value and unit the laboratory reported, which cards quote first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Problem(StrEnum):
    """Conditions the rules read (rules.md "Shared definitions")."""

    T2DM = "type-2-diabetes"
    OSTEOPOROSIS = "osteoporosis"
    OSTEOPENIA = "osteopenia"
    FRAGILITY_FRACTURE = "fragility-fracture"
    OBESITY = "obesity"
    DIABETIC_KIDNEY_DISEASE = "diabetic-kidney-disease"
    CHRONIC_KIDNEY_DISEASE = "chronic-kidney-disease"
    DIABETIC_NEUROPATHY = "diabetic-neuropathy"
    HYPOGLYCAEMIA = "hypoglycaemia"
    DIALYSIS = "dialysis"
    # revision 3
    HIP_OR_VERTEBRAL_FRACTURE = "hip-or-vertebral-fracture"  # BF when its onset is at age >= 50
    HEALED_FRAGILITY_FRACTURE = "fragility-fracture-history"  # ICD-10-CM Z87.310: BF, never a recent fracture
    PALLIATIVE_CARE = "palliative-care"  # palliative or hospice care (Condition or Procedure)
    PREGNANCY = "pregnancy"
    PREGNANCY_OUTCOME = "pregnancy-outcome"  # delivery or another outcome: ends a pregnancy dated before it
    BED_BOUND = "bed-bound"
    OESOPHAGEAL_DISORDER = "oesophageal-disorder"  # delays emptying or is inflamed (oral bisphosphonates)
    JAW_OSTEONECROSIS = "osteonecrosis-of-the-jaw"
    ATYPICAL_FEMORAL_FRACTURE = "atypical-femoral-fracture"


class Lab(StrEnum):
    """Observation concepts, each with one canonical unit (the comment)."""

    EGFR = "egfr"  # mL/min/1.73 m2
    CREATININE_CLEARANCE = "creatinine-clearance"  # mL/min
    CREATININE = "creatinine"  # mg/dL (serum)
    CALCIUM = "calcium"  # mmol/L, total serum calcium as measured
    ALBUMIN = "albumin"  # g/L (serum)
    PHOSPHATE = "phosphate"  # mmol/L
    PTH = "pth"  # pg/mL
    VITAMIN_D = "25-oh-vitamin-d"  # ng/mL
    CTX = "ctx"  # bone turnover marker, value as reported
    P1NP = "p1np"  # bone turnover marker, value as reported
    BONE_ALP = "bone-alp"  # bone turnover marker, value as reported
    BMD = "bmd"  # g/cm2
    T_SCORE = "t-score"  # SD; see BmdSite
    Z_SCORE = "z-score"  # SD
    BMI = "bmi"  # kg/m2
    WAIST = "waist"  # cm
    BODY_WEIGHT = "body-weight"  # kg
    HBA1C = "hba1c"  # % (NGSP)
    FALL_RISK_ASSESSMENT = "fall-risk-assessment"  # presence only (Observation or Procedure)
    # revision 3
    IONISED_CALCIUM = "ionised-calcium"  # mmol/L; never corrected, never compared with total-calcium limits
    GLUCOSE = "glucose"  # mmol/L; blood, serum/plasma or capillary, never urine
    MAGNESIUM = "magnesium"  # mmol/L (serum)
    ALKALINE_PHOSPHATASE = "alkaline-phosphatase"  # U/L (serum, total)
    HCG = "hcg"  # pregnancy test, qualitative: value 1.0 positive, 0.0 negative


BONE_TURNOVER_MARKERS: frozenset[Lab] = frozenset({Lab.CTX, Lab.P1NP, Lab.BONE_ALP})
BMD_RESULTS: frozenset[Lab] = frozenset({Lab.BMD, Lab.T_SCORE, Lab.Z_SCORE})


class BmdSite(StrEnum):
    """Where a DXA T-score was measured. Only spine, hip and femoral neck define bone fragility."""

    LUMBAR_SPINE = "lumbar-spine"
    HIP = "hip"
    FEMORAL_NECK = "femoral-neck"
    OTHER = "other"  # forearm, unnamed site (e.g. LOINC 38265-5): a BMD result, not a fragility criterion


class DrugClass(StrEnum):
    """Medication classes (rules.md "Medication classes")."""

    TZD = "thiazolidinedione"
    INSULIN = "insulin"
    SGLT2_INHIBITOR = "sglt2-inhibitor"
    GLP1_RA = "glp1-receptor-agonist"
    DPP4_INHIBITOR = "dpp4-inhibitor"
    METFORMIN = "metformin"
    BISPHOSPHONATE = "bisphosphonate"
    BISPHOSPHONATE_IV = "bisphosphonate-iv"  # zoledronic acid, ibandronate injection: also BISPHOSPHONATE
    ZOLEDRONIC_ACID = "zoledronic-acid"  # also BISPHOSPHONATE and BISPHOSPHONATE_IV
    DENOSUMAB = "denosumab"
    ANABOLIC = "anabolic"  # teriparatide, abaloparatide
    ROMOSOZUMAB = "romosozumab"
    CALCIUM_SUPPLEMENT = "calcium-supplement"
    NATIVE_VITAMIN_D = "native-vitamin-d"  # cholecalciferol, ergocalciferol, calcifediol
    ACTIVE_VITAMIN_D = "active-vitamin-d"  # calcitriol, alfacalcidol
    # revision 3
    SULFONYLUREA = "sulfonylurea"  # an insulin secretagogue
    GLINIDE = "glinide"  # an insulin secretagogue
    DENOSUMAB_ONCOLOGY = "denosumab-oncology"  # 120 mg (Xgeva): never DENOSUMAB, not osteoporosis treatment
    ZOLEDRONIC_ACID_ONCOLOGY = "zoledronic-acid-oncology"  # 4 mg (Zometa): never ZOLEDRONIC_ACID


VITAMIN_D: frozenset[DrugClass] = frozenset({DrugClass.NATIVE_VITAMIN_D, DrugClass.ACTIVE_VITAMIN_D})
ANTI_OSTEOPOROSIS: frozenset[DrugClass] = frozenset(
    {DrugClass.BISPHOSPHONATE, DrugClass.DENOSUMAB, DrugClass.ANABOLIC, DrugClass.ROMOSOZUMAB}
)
INSULIN_SECRETAGOGUES: frozenset[DrugClass] = frozenset({DrugClass.SULFONYLUREA, DrugClass.GLINIDE})
ONCOLOGY_REGIMENS: frozenset[DrugClass] = frozenset(
    {DrugClass.DENOSUMAB_ONCOLOGY, DrugClass.ZOLEDRONIC_ACID_ONCOLOGY}
)


class ExposureKind(StrEnum):
    REQUEST = "MedicationRequest"
    ADMINISTRATION = "MedicationAdministration"
    STATEMENT = "MedicationStatement"
    DISPENSE = "MedicationDispense"


@dataclass(frozen=True, slots=True)
class Coding:
    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Patient:
    id: str
    sex: Sex = Sex.UNKNOWN
    birth_date: date | None = None
    deceased: bool = False

    def age_on(self, day: date) -> int | None:
        """Completed years on ``day``; None when the birth date is unknown."""
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass(frozen=True, slots=True)
class ConditionFact:
    """A Condition that counts (never refuted or entered-in-error; mapping drops those)."""

    problem: Problem
    active: bool  # clinicalStatus is not inactive/resolved/remission (absent counts as active)
    onset: date | None  # onset[x], else recordedDate (a Procedure: its performed date)
    source: str  # "Condition/123" or "Procedure/9"
    display: str | None = None
    from_procedure: bool = False  # a Procedure (dialysis, palliative care) counts only within its window


@dataclass(frozen=True, slots=True)
class Reported:
    """A value as the laboratory reported it: cards write it first, the canonical value in brackets."""

    value: float
    unit: str  # the unit's text as sent (valueQuantity.unit, else its code)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One Observation value in its concept's canonical unit (value None: presence only)."""

    lab: Lab
    value: float | None
    at: datetime
    source: str  # "Observation/123" or "Procedure/9"
    site: BmdSite | None = None  # T-scores only
    unit: str | None = None  # the unit as displayed in cards (canonical)
    reported: Reported | None = None  # what the lab sent, beside the canonical value (rules.md r3)


@dataclass(frozen=True, slots=True)
class MedicationExposure:
    """One medication resource of the recognised classes (oncology regimens in their own classes, r3)."""

    classes: frozenset[DrugClass]
    name: str  # what the clinician sees: text or display of the code
    kind: ExposureKind
    status: str  # the FHIR status as sent
    at: datetime | None  # authoredOn / effective[x] / whenHandedOver
    active: bool  # MedicationRequest active/on-hold or MedicationStatement active
    source: str  # "MedicationRequest/abc"
    draft: bool = False  # a draft order from context.draftOrders that the rules look at
    coding: Coding | None = None
    # revision 3: course lengths and the newest word on a denosumab course
    period_start: datetime | None = None  # MedicationStatement.effectivePeriod.start
    period_end: datetime | None = None  # MedicationStatement.effectivePeriod.end (None: open)
    asserted: datetime | None = None  # MedicationStatement.dateAsserted

    @property
    def is_exposure(self) -> bool:
        """rules.md "Exposure": the drug was (or is being) taken. Since r3 the record also holds cancelled
        and stopped orders and stopped, not-taken or intended statements, which are the newest word on a
        course but no exposure."""
        return self.draft or self.status in _EXPOSURE_STATUSES[self.kind]


_EXPOSURE_STATUSES: dict[ExposureKind, frozenset[str]] = {
    ExposureKind.REQUEST: frozenset({"active", "on-hold", "completed", "stopped"}),
    ExposureKind.ADMINISTRATION: frozenset({"completed", "in-progress"}),
    ExposureKind.STATEMENT: frozenset({"active", "completed"}),
    ExposureKind.DISPENSE: frozenset({"completed"}),
}


@dataclass(frozen=True, slots=True)
class TestOrder:
    """A ServiceRequest for a test the rules track (revision 3, "Ordered, not yet resulted").

    ``lab`` names the test (``Lab.BMD`` for a DXA scan, ``Lab.FALL_RISK_ASSESSMENT`` for the assessment).
    """

    lab: Lab
    status: str  # the FHIR status as sent: active, completed, draft, revoked...
    authored: datetime | None
    source: str  # "ServiceRequest/7"


@dataclass(frozen=True, slots=True)
class Allergy:
    """An AllergyIntolerance that names a drug class the cards might offer (active, not refuted)."""

    classes: frozenset[DrugClass]
    source: str  # "AllergyIntolerance/3"
    display: str | None = None


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """Everything the rules may read about one patient, in canonical units, sorted by time."""

    patient: Patient
    conditions: tuple[ConditionFact, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    medications: tuple[MedicationExposure, ...] = ()  # the chart: never drafts
    drafts: tuple[MedicationExposure, ...] = ()  # the draft orders the hook asks about
    test_orders: tuple[TestOrder, ...] = ()  # ServiceRequests for tracked tests (revision 3)
    allergies: tuple[Allergy, ...] = ()  # active drug allergies of the classes cards offer (revision 3)
    # which optional revision-3 data the EHR sent: a card that offers a drug without allergies says so
    allergies_known: bool = False
    notes: tuple[str, ...] = field(default=())  # what the mapping could not read, for the logs (no PHI)

    def series(self, lab: Lab) -> tuple[Measurement, ...]:
        """The measurements of one concept, oldest first."""
        return tuple(m for m in self.measurements if m.lab is lab)

    def has_problem(self, problem: Problem, *, active_only: bool = True) -> bool:
        return any(c.problem is problem and (c.active or not active_only) for c in self.conditions)

    def exposures(self, cls: DrugClass) -> tuple[MedicationExposure, ...]:
        """Chart exposures (not drafts) of one class, oldest first: cancelled orders and stopped, not-taken
        or intended statements are on the chart but are no exposure."""
        return tuple(m for m in self.medications if cls in m.classes and m.is_exposure)

    def drafts_of(self, cls: DrugClass) -> tuple[MedicationExposure, ...]:
        return tuple(m for m in self.drafts if cls in m.classes)
