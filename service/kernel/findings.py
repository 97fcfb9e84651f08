"""What a rule concludes: a finding, before it becomes a card or a reminder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Generic, TypeVar

from service.kernel.record import Lab

TOPIC_SYSTEM = "urn:bone-health-cds:rule"
OVERRIDE_SYSTEM = "urn:bone-health-cds:override"


class Topic(StrEnum):
    """The stable topic codes of rules.md; EHRs identify cards by these, never by wording."""

    TZD_FRACTURE_RISK = "tzd-fracture-risk"
    BISPHOSPHONATE_RENAL_CONTRAINDICATION = "bisphosphonate-renal-contraindication"
    BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN = "bisphosphonate-renal-function-unknown"
    PRE_INFUSION_CALCIUM_CHECK = "pre-infusion-calcium-check"
    SGLT2_FRACTURE_CAUTION = "sglt2-fracture-caution"
    INSULIN_HYPOGLYCEMIA_FALL_RISK = "insulin-hypoglycemia-fall-risk"
    ANABOLIC_DURATION_LIMIT = "anabolic-duration-limit"
    ORAL_BISPHOSPHONATE_UNSUITABLE = "oral-bisphosphonate-unsuitable"
    BONE_DRUG_IN_PREGNANCY = "bone-drug-in-pregnancy"
    MONITORING_OVERDUE = "monitoring-overdue"
    DENOSUMAB_SEQUENCING_MISSING = "denosumab-sequencing-missing"
    DENOSUMAB_DOSE_DUE = "denosumab-dose-due"
    DENOSUMAB_HYPOCALCEMIA_MONITORING = "denosumab-hypocalcemia-monitoring"
    HYPERCALCEMIA_ON_THERAPY = "hypercalcemia-on-therapy"
    DIABETIC_FRACTURE_RISK_PHENOTYPE = "diabetic-fracture-risk-phenotype"
    FALL_RISK_ASSESSMENT_DUE = "fall-risk-assessment-due"
    OBESITY_BONE_ASSESSMENT = "obesity-bone-assessment"
    VITAMIN_D_DEFICIENCY = "vitamin-d-deficiency"
    HYPOCALCEMIA_ON_ANTIRESORPTIVE = "hypocalcemia-on-antiresorptive"
    OSTEOPOROSIS_UNTREATED = "osteoporosis-untreated"
    GLYCEMIC_OVERTREATMENT_FALL_RISK = "glycemic-overtreatment-fall-risk"
    CKD_MINERAL_BONE_WORKUP = "ckd-mineral-bone-workup"


#: Topics whose findings carry a due date and become reminders (rules.md "Reminders").
TIME_BOUND_TOPICS: frozenset[Topic] = frozenset(
    {
        Topic.MONITORING_OVERDUE,
        Topic.DENOSUMAB_DOSE_DUE,
        Topic.DENOSUMAB_SEQUENCING_MISSING,
        Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING,
    }
)


class OverrideReason(StrEnum):
    """Why a clinician overrode a card (rules.md r3; every card offers all five). Feedback acts on the
    code, never the display, whose words are in each language's phrases."""

    REMIND_LATER = "remind-later"
    PATIENT_DECLINED = "patient-declined"
    NOT_APPLICABLE = "not-applicable"
    ADDRESSED_ELSEWHERE = "addressed-elsewhere"
    BENEFIT_OUTWEIGHS_RISK = "benefit-outweighs-risk"


class Indicator(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Proposal(StrEnum):
    """Medication orders a card may propose as a draft MedicationRequest."""

    ZOLEDRONIC_ACID_5MG_IV = "zoledronic-acid-5mg-iv"
    ALENDRONATE_70MG_WEEKLY = "alendronate-70mg-weekly"


class Order(StrEnum):
    """Non-lab services a card may propose as a ServiceRequest."""

    DXA = "dxa"
    FALL_RISK_ASSESSMENT = "fall-risk-assessment"


@dataclass(frozen=True, slots=True)
class NoFacts:
    """The facts of a finding whose card quotes nothing of the patient's own."""


FactsT = TypeVar("FactsT", covariant=True)


@dataclass(frozen=True, slots=True)
class Finding(Generic[FactsT]):
    """One rule's conclusion about one patient.

    ``facts`` is the topic's own frozen dataclass (see :mod:`service.kernel.facts`): the patient's values
    and dates that the card wording quotes, typed so that a card is checked against its rule. ``due`` is
    the day a time-bound finding falls due (past or future), computed from the record alone so every
    evaluation gives the same date; ``proposal_start`` the day a proposed medication order starts.
    """

    topic: Topic
    indicator: Indicator
    facts: FactsT = NoFacts()  # type: ignore[assignment]
    due: date | None = None
    delete_drafts: tuple[str, ...] = ()  # "MedicationRequest/abc": drafts to suggest deleting
    lab_orders: tuple[Lab, ...] = ()  # tests to suggest as ServiceRequests
    service_orders: tuple[Order, ...] = ()
    proposals: tuple[Proposal, ...] = ()  # medication orders to suggest (at most one is chosen)
    fires: bool = True  # False: a time-bound finding that is not due yet, kept for its reminder
    proposal_start: date | None = None  # when a proposed medication order starts; None: today
    # palliative or hospice care (r3): the card adds "weigh treatment against the goals of care"
    goals_of_care: bool = False
    # the drug guard (r3): tests added as extra create actions inside a proposal's own suggestion, to
    # prepare its first dose; the proposal marked isRecommended; and whether the drafts to delete and the
    # proposals make one suggestion (replace the draft by the proposed drug)
    preparation: tuple[tuple[Proposal, tuple[Lab, ...]], ...] = ()
    recommended: Proposal | None = None
    replace_drafts: bool = False


#: A finding of any topic, as the evaluation, the card assembly and the reminders pass it on.
AnyFinding = Finding[Any]
