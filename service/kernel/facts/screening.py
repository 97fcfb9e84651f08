"""Facts of the screening topics at patient view (T2DM review sections 1.4, 2.1–2.3; obesity review)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from service.kernel.clinical import BoneFragility, RenalFunction, SerumCalcium
from service.kernel.record import Measurement, Sex
from service.kernel.thresholds import PopulationProfile


class PhenotypeKind(StrEnum):
    """The fracture-risk phenotypes of T2DM §1.4, in the review's order; the card words each one."""

    LONG_DURATION = "long-duration"
    NEUROPATHY = "neuropathy"
    HYPOGLYCAEMIA = "hypoglycaemia"
    KIDNEY_DISEASE = "kidney-disease"


@dataclass(frozen=True, slots=True)
class Phenotype:
    """One matched fracture-risk phenotype and the date the card quotes for it."""

    kind: PhenotypeKind
    since: date | None  # diabetes onset; first neuropathy/kidney record; latest hypoglycaemia record
    years: int | None = None  # completed years of diabetes (LONG_DURATION only)
    diabetic: bool = True  # KIDNEY_DISEASE: False when coded as CKD without the diabetic link


@dataclass(frozen=True, slots=True)
class PhenotypeFacts:
    """``diabetic-fracture-risk-phenotype``: the phenotypes matched, and the DXA that is missing.

    ``egfr`` is the latest eGFR within the renal window, quoted with the kidney phenotype (None without
    it); ``last_bmd`` the last BMD result, older than ``window_days``, or None.
    """

    phenotypes: tuple[Phenotype, ...]
    egfr: RenalFunction | None
    last_bmd: Measurement | None
    window_days: int


@dataclass(frozen=True, slots=True)
class FallRiskFacts:
    """``fall-risk-assessment-due``: the bone fragility, and the last assessment (older than the window)."""

    fragility: BoneFragility
    last_assessment: Measurement | None
    window_days: int


@dataclass(frozen=True, slots=True)
class Population:
    """Why a patient is in the population of a screening rule: type 2 diabetes, bone fragility, or both."""

    t2dm: bool
    fragility: BoneFragility | None

    def __post_init__(self) -> None:
        if not self.t2dm and self.fragility is None:
            raise ValueError("a screening population needs type 2 diabetes or bone fragility")


@dataclass(frozen=True, slots=True)
class ObesityFacts:
    """``obesity-bone-assessment``: the latest BMI and waist within the window, and their cut-offs.

    ``waist_threshold`` is the profile's cut-off for the patient's recorded ``sex`` (None for unknown or
    other sex: the waist criterion is then skipped); ``profile`` names the standard the cut-offs follow.
    """

    population: Population
    bmi: Measurement | None
    waist: Measurement | None
    bmi_threshold: float
    waist_threshold: float | None
    bmi_met: bool
    waist_met: bool
    sex: Sex
    profile: PopulationProfile


@dataclass(frozen=True, slots=True)
class VitaminDFacts:
    """``vitamin-d-deficiency``: the low 25-OH vitamin D (ng/mL) and what the patient already takes.

    ``active_vitamin_d`` names the active calcitriol or alfacalcidol orders (they do not replete 25-OH
    vitamin D); ``calcium_supplement`` is True when a calcium supplement is active.

    (r3, "No contradictions") ``high_calcium`` is the high calcium result, when there is one: the card
    then says to find the cause (PTH) first and advises no calcium supplement. ``renal_team`` is True
    with renal function below the KDIGO threshold or on dialysis: calcium intake is then as the renal
    team advises (``renal`` the renal function that decided, ``dialysis`` when on dialysis).
    """

    population: Population
    vitamin_d: Measurement
    active_vitamin_d: tuple[str, ...]
    calcium_supplement: bool
    threshold: float
    high_calcium: SerumCalcium | None = None
    renal_team: bool = False
    renal: RenalFunction | None = None
    dialysis: bool = False
