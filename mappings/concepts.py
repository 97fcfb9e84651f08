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
    "sulfonylurea": DrugClass.SULFONYLUREA,
    "glinide": DrugClass.GLINIDE,
}

# Oncology regimens of an osteoporosis drug (rules.md r3): a class of their own, never the osteoporosis one.
ONCOLOGY: dict[str, DrugClass] = {
    "denosumab-oncology": DrugClass.DENOSUMAB_ONCOLOGY,
    "zoledronic-acid-oncology": DrugClass.ZOLEDRONIC_ACID_ONCOLOGY,
}

# Procedures carry four of the concepts: fall-risk assessment and a DXA scan (Measurements by presence),
# dialysis and palliative/hospice care (Conditions from a procedure).
PROCEDURE_CONCEPTS: frozenset[str] = frozenset(
    {Lab.FALL_RISK_ASSESSMENT.value, Lab.BMD.value, Problem.DIALYSIS.value, Problem.PALLIATIVE_CARE.value}
)
PROCEDURE_PROBLEMS: frozenset[Problem] = frozenset({Problem.DIALYSIS, Problem.PALLIATIVE_CARE})

# A DiagnosticReport coded with a DXA code of the kit (study, BMD, T- or Z-score LOINC; CPT 77080/77081) is a
# BMD result by presence (rules.md r3 "BMD result").
DXA_REPORT_CONCEPTS: frozenset[str] = frozenset(
    concept for concept, (lab, _) in LABS.items() if lab in (Lab.BMD, Lab.T_SCORE, Lab.Z_SCORE)
)

# ServiceRequests of the tests the rules track (rules.md r3 "Ordered, not yet resulted") -> the Lab ordered.
ORDERED_TESTS: dict[str, Lab] = {
    **{concept: Lab.BMD for concept in DXA_REPORT_CONCEPTS},  # a DXA order, whichever DXA code names it
    **{
        concept: lab
        for concept, (lab, _) in LABS.items()
        if lab
        in (
            Lab.CALCIUM,
            Lab.IONISED_CALCIUM,
            Lab.CREATININE,
            Lab.CREATININE_CLEARANCE,
            Lab.EGFR,
            Lab.PHOSPHATE,
            Lab.PTH,
            Lab.VITAMIN_D,
            Lab.CTX,
            Lab.P1NP,
            Lab.BONE_ALP,
            Lab.MAGNESIUM,
            Lab.ALKALINE_PHOSPHATASE,
            Lab.BMD,
            Lab.FALL_RISK_ASSESSMENT,
        )
    },
}

CONDITION_CONCEPTS: frozenset[str] = frozenset(PROBLEMS)
LAB_CONCEPTS: frozenset[str] = frozenset(LABS)
DRUG_CONCEPTS: frozenset[str] = frozenset(DRUGS) | frozenset(ONCOLOGY)
