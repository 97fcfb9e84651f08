"""What each value set (concept id = file name in valuesets/) means in the domain model."""

from __future__ import annotations

from service.kernel.record import BmdSite, DrugClass, Lab, Problem

PROBLEMS: dict[str, Problem] = {problem.value: problem for problem in Problem}

LABS: dict[str, tuple[Lab, BmdSite | None]] = {
    **{lab.value: (lab, None) for lab in Lab if lab is not Lab.T_SCORE},
    "t-score-lumbar-spine": (Lab.T_SCORE, BmdSite.LUMBAR_SPINE),
    "t-score-hip": (Lab.T_SCORE, BmdSite.HIP),
    "t-score-femoral-neck": (Lab.T_SCORE, BmdSite.FEMORAL_NECK),
    "t-score-other": (Lab.T_SCORE, BmdSite.OTHER),
}

DRUGS: dict[str, DrugClass] = {
    "tzd": DrugClass.TZD,
    "insulin": DrugClass.INSULIN,
    "sglt2-inhibitor": DrugClass.SGLT2_INHIBITOR,
    "glp1-receptor-agonist": DrugClass.GLP1_RA,
    "dpp4-inhibitor": DrugClass.DPP4_INHIBITOR,
    "metformin": DrugClass.METFORMIN,
    "bisphosphonate": DrugClass.BISPHOSPHONATE,
    "bisphosphonate-iv": DrugClass.BISPHOSPHONATE_IV,
    "zoledronic-acid": DrugClass.ZOLEDRONIC_ACID,
    "denosumab": DrugClass.DENOSUMAB,
    "anabolic": DrugClass.ANABOLIC,
    "romosozumab": DrugClass.ROMOSOZUMAB,
    "calcium-supplement": DrugClass.CALCIUM_SUPPLEMENT,
    "native-vitamin-d": DrugClass.NATIVE_VITAMIN_D,
    "active-vitamin-d": DrugClass.ACTIVE_VITAMIN_D,
}

# Oncology regimens of an osteoporosis drug: recognised so that they can be dropped.
ONCOLOGY: dict[str, DrugClass] = {
    "denosumab-oncology": DrugClass.DENOSUMAB,
    "zoledronic-acid-oncology": DrugClass.ZOLEDRONIC_ACID,
}

# Procedures carry two of the concepts: fall-risk assessment (a Measurement) and dialysis (a Condition).
PROCEDURE_CONCEPTS: frozenset[str] = frozenset({Lab.FALL_RISK_ASSESSMENT.value, Problem.DIALYSIS.value})

CONDITION_CONCEPTS: frozenset[str] = frozenset(PROBLEMS)
LAB_CONCEPTS: frozenset[str] = frozenset(LABS)
DRUG_CONCEPTS: frozenset[str] = frozenset(DRUGS) | frozenset(ONCOLOGY)
