"""The benchmark's hook requests: typical, heavy, a real Synthea chart, and charts of any size.

Every request is deterministic for a given clock (seeded values, fixed ids), so two runs send the
same bytes. Dates are relative to ``now`` so the clinical picture stays the same whatever the clock.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import orjson
from _fhir import (
    ICD10CM,
    SNOMED,
    Json,
    blood_pressure,
    condition,
    medication_administration,
    medication_request,
    observation,
    patient,
    procedure,
    searchset,
)

from service.cds_services import PREFETCH_KEY_BY_TYPE

PATIENT_ID = "bench-1"
SYNTHEA = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "synthea"

# resourceType -> the prefetch key that carries it as a searchset (the Patient is sent alone)
PREFETCH_KEYS = {rtype: key for rtype, key in PREFETCH_KEY_BY_TYPE.items() if rtype != "Patient"}

_PROLIA = ("993456", "1 ML denosumab 60 MG/ML Prefilled Syringe [Prolia]")


@dataclass(frozen=True)
class BenchRequest:
    """One request as the EHR sends it, and what the bench checks in the answer."""

    name: str
    service: str  # the service id in the URL
    body: bytes
    resources: int  # FHIR resources in the request (prefetch and draft orders)
    expect: frozenset[str]  # topics that must be on the answer's cards


def request_body(
    hook: str,
    pid: str,
    chart: Sequence[Json],
    *,
    drafts: Sequence[Json] = (),
    full_urls: dict[str, str] | None = None,
) -> bytes:
    """The CDS Hooks request: Patient under ``patient``, the rest as searchset Bundles per key.

    At order-select every draft is selected.
    """
    by_key: dict[str, list[Json]] = {key: [] for key in PREFETCH_KEYS.values()}
    prefetch: Json = {}
    for resource in chart:
        rtype = resource["resourceType"]
        if rtype == "Patient":
            prefetch["patient"] = resource
        elif rtype in PREFETCH_KEYS:
            by_key[PREFETCH_KEYS[rtype]].append(resource)
    for key, resources in by_key.items():
        prefetch[key] = searchset(resources, full_urls)
    context: Json = {"userId": "Practitioner/pr-1", "patientId": pid}
    if hook in ("order-select", "order-sign"):
        entries = [{"resource": d} for d in drafts]
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": entries}
        if hook == "order-select":
            context["selections"] = [f"{d['resourceType']}/{d['id']}" for d in drafts]
    body = {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": prefetch,
    }
    return orjson.dumps(body)


def _days_before(now: datetime) -> Callable[[float], datetime]:
    return lambda days: (now - timedelta(days=days)).replace(microsecond=0)


# ---------------------------------------------------------------------------------------- typical


def typical(now: datetime) -> BenchRequest:
    """A woman of 75 with T2DM and osteoporosis on denosumab; the clinician selects pioglitazone.

    50 resources: six conditions, five six-monthly chemistry panels, vitamin D, two DXA T-scores,
    five Prolia injections, five active orders, two procedures and the draft. Expected:
    tzd-fracture-risk (a TZD with osteoporosis).
    """
    pid = PATIENT_ID
    ago = _days_before(now)
    rng = random.Random(1)
    chart: list[Json] = [
        patient(pid, "female", date(now.year - 75, 4, 18)),
        condition(pid, "c-t2dm", SNOMED, "44054006", "Diabetes mellitus type 2 (disorder)", ago(3300)),
        condition(
            pid,
            "c-op",
            ICD10CM,
            "M81.0",
            "Age-related osteoporosis without current pathological fracture",
            ago(1600),
        ),
        condition(
            pid, "c-htn", SNOMED, "38341003", "Hypertensive disorder, systemic arterial (disorder)", ago(4000)
        ),
        condition(pid, "c-lipid", ICD10CM, "E78.5", "Hyperlipidemia, unspecified", ago(3800)),
        condition(pid, "c-ckd", ICD10CM, "N18.31", "Chronic kidney disease, stage 3a", ago(700)),
        condition(
            pid,
            "c-fx",
            SNOMED,
            "443165006",
            "Pathological fracture due to osteoporosis (disorder)",
            ago(1700),
            active=False,
        ),
    ]
    for visit in range(5):
        at = ago(20 + 182 * visit)
        chart += [_observation(pid, f"{lab.prefix}-{visit}", at, lab, rng) for lab in _TYPICAL_PANEL]
    chart += [_observation(pid, f"vitd-{year}", ago(30 + 365 * year), _VITAMIN_D, rng) for year in range(3)]
    chart += [
        observation(
            pid,
            "dxa-spine",
            "38267-1",
            "DXA Lumbar spine [T-score] Bone density",
            ago(400),
            -2.7,
            "{T-score}",
            category="imaging",
        ),
        observation(
            pid,
            "dxa-hip",
            "38264-8",
            "DXA Hip [T-score] Bone density",
            ago(400),
            -2.2,
            "{T-score}",
            category="imaging",
        ),
        medication_request(pid, "mr-metformin", *_METFORMIN, ago(3000)),
        medication_request(pid, "mr-prolia", *_PROLIA, ago(900)),
        medication_request(pid, "mr-caltrate", *_CALCIUM_D, ago(900)),
        medication_request(pid, "mr-lisinopril", "314076", "lisinopril 10 MG Oral Tablet", ago(2500)),
        medication_request(pid, "mr-simvastatin", "314231", "simvastatin 20 MG Oral Tablet", ago(2400)),
        procedure(pid, "pr-dxa", "312681000", "Bone density scan (procedure)", ago(400)),
        procedure(pid, "pr-falls", "414191008", "Fall risk assessment (procedure)", ago(200)),
    ]
    chart += [
        medication_administration(pid, f"ma-prolia-{i}", *_PROLIA, ago(150 + 182 * i)) for i in range(5)
    ]
    draft = medication_request(
        pid, "draft-pioglitazone", "312440", "pioglitazone 30 MG Oral Tablet", ago(0), status="draft"
    )
    del draft["authoredOn"]
    body = request_body("order-select", pid, chart, drafts=[draft])
    return BenchRequest(
        "typical", "bone-health-order-select", body, len(chart) + 1, frozenset({"tzd-fracture-risk"})
    )


# ------------------------------------------------------------------------------------------ heavy


def heavy(now: datetime, resources: int = 700, name: str = "heavy") -> BenchRequest:
    """A man of 78 with long-standing T2DM, CKD 3b and osteoporosis, seen at patient-view.

    Five years of quarterly visits: chemistry with mixed units (creatinine in mg/dL and µmol/L,
    calcium in mg/dL and mmol/L, albumin in g/dL and g/L, HbA1c in % and mmol/mol, vitamin D in
    ng/mL and nmol/L, weight in kg and lb), vitals, CBC, lipids, urine ACR, bone labs, DXA, and
    prescriptions renewed at each visit that are mostly irrelevant to bone, beside metformin, insulin,
    calcium with vitamin D and six-monthly Prolia. Cut to exactly ``resources`` resources: a larger
    chart packs more visits into the same five years.

    Expected: denosumab-dose-due (last Prolia 200 days ago), fall-risk-assessment-due (T2DM and
    osteoporosis, never assessed), obesity-bone-assessment (BMI 31, China's profile).
    """
    chart = list(_heavy_chart(now, resources))
    body = request_body("patient-view", PATIENT_ID, chart)
    expect = frozenset({"denosumab-dose-due", "fall-risk-assessment-due", "obesity-bone-assessment"})
    return BenchRequest(name, "bone-health-patient-view", body, len(chart), expect)


class _Lab(NamedTuple):
    prefix: str  # id prefix
    code: str
    display: str
    unit: str
    low: float  # the patient's values are drawn from [low, high]
    high: float
    category: str = "laboratory"


def _observation(pid: str, rid: str, at: datetime, lab: _Lab, rng: random.Random) -> Json:
    return observation(
        pid, rid, lab.code, lab.display, at, rng.uniform(lab.low, lab.high), lab.unit, category=lab.category
    )


_VITAMIN_D = _Lab(
    "vitd",
    "62292-8",
    "25-Hydroxyvitamin D3+25-Hydroxyvitamin D2 [Mass/volume] in Serum or Plasma",
    "ng/mL",
    28,
    36,
)
_TYPICAL_PANEL = (
    _Lab("a1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 6.8, 7.9),
    _Lab(
        "egfr",
        "62238-1",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
        "mL/min/{1.73_m2}",
        48,
        58,
    ),
    _Lab("cr", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.95, 1.1),
    _Lab("ca", "17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 9.0, 9.8),
    _Lab("alb", "1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.8, 4.3),
)

# Every visit. A pair is (usual unit, the other unit the lab used on alternate visits).
_VISIT_LABS: tuple[tuple[_Lab, _Lab | None], ...] = (
    (_Lab("glu", "2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 110, 190), None),
    (_Lab("bun", "6299-2", "Urea nitrogen [Mass/volume] in Blood", "mg/dL", 22, 34), None),
    (
        _Lab("cr", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 1.4, 1.7),
        _Lab("cr", "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L", 125, 150),
    ),
    (
        _Lab(
            "egfr",
            "33914-3",
            "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)",
            "mL/min/{1.73_m2}",
            38,
            44,
        ),
        None,
    ),
    (_Lab("na", "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 136, 142), None),
    (_Lab("k", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 4.0, 5.1), None),
    (_Lab("cl", "2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", 98, 106), None),
    (
        _Lab("co2", "2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "mmol/L", 22, 28),
        None,
    ),
    (
        _Lab("ca", "17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 9.0, 9.8),
        _Lab("ca", "2000-8", "Calcium [Moles/volume] in Serum or Plasma", "mmol/L", 2.25, 2.45),
    ),
    (
        _Lab("alb", "1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.8, 4.3),
        _Lab("alb", "1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/L", 38, 43),
    ),
    (
        _Lab("a1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 7.2, 8.2),
        _Lab(
            "a1c",
            "59261-8",
            "Hemoglobin A1c/Hemoglobin.total standardized per IFCC protocol in Blood",
            "mmol/mol",
            55,
            66,
        ),
    ),
    (_Lab("acr", "14959-1", "Microalbumin/Creatinine [Mass Ratio] in Urine", "mg/g", 40, 120), None),
    (_Lab("hr", "8867-4", "Heart rate", "/min", 62, 84, "vital-signs"), None),
    (
        _Lab("wt", "29463-7", "Body weight", "kg", 95, 100, "vital-signs"),
        _Lab("wt", "29463-7", "Body weight", "[lb_av]", 210, 220, "vital-signs"),
    ),
    (_Lab("ht", "8302-2", "Body height", "cm", 175.5, 176.5, "vital-signs"), None),
    (_Lab("bmi", "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 30.5, 32.5, "vital-signs"), None),
    (_Lab("temp", "8310-5", "Body temperature", "Cel", 36.4, 37.0, "vital-signs"), None),
)
# Every other visit
_CBC = (
    _Lab("wbc", "6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 5, 9),
    _Lab("rbc", "789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL", 3.9, 4.5),
    _Lab("hgb", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11.2, 12.8),
    _Lab("hct", "4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 34, 39),
    _Lab("mcv", "787-2", "MCV [Entitic volume] by Automated count", "fL", 84, 94),
    _Lab("plt", "777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 180, 320),
)
_VITAMIN_D_PAIR = (
    _Lab("vitd", "1989-3", "25-Hydroxyvitamin D3 [Mass/volume] in Serum or Plasma", "ng/mL", 28, 36),
    _Lab("vitd", "14635-7", "25-Hydroxyvitamin D3 [Moles/volume] in Serum or Plasma", "nmol/L", 70, 90),
)
# Once a year
_ANNUAL = (
    _Lab("chol", "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 150, 210),
    _Lab("tg", "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", 120, 220),
    _Lab(
        "ldl",
        "18262-6",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
        "mg/dL",
        70,
        120,
    ),
    _Lab("hdl", "2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", 38, 50),
    _Lab("pth", "2731-8", "Parathyrin.intact [Mass/volume] in Serum or Plasma", "pg/mL", 45, 70),
    _Lab("phos", "2777-1", "Phosphate [Mass/volume] in Serum or Plasma", "mg/dL", 3.0, 4.2),
    _Lab(
        "ctx",
        "41171-0",
        "Collagen crosslinked C-telopeptide [Mass/volume] in Serum or Plasma",
        "ng/mL",
        0.1,
        0.3,
    ),
    _Lab(
        "dxa-spine", "38267-1", "DXA Lumbar spine [T-score] Bone density", "{T-score}", -2.9, -2.5, "imaging"
    ),
    _Lab("dxa-hip", "38264-8", "DXA Hip [T-score] Bone density", "{T-score}", -2.4, -2.0, "imaging"),
)

_METFORMIN = ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet")
_CALCIUM_D = ("809536", "calcium carbonate 1250 MG / cholecalciferol 200 UNT Oral Tablet")
_PRESCRIPTIONS = (
    ("314076", "lisinopril 10 MG Oral Tablet"),
    ("197361", "amlodipine 5 MG Oral Tablet"),
    ("316049", "hydrochlorothiazide 25 MG Oral Tablet"),
    ("314231", "simvastatin 20 MG Oral Tablet"),
    ("243670", "aspirin 81 MG Oral Tablet"),
    ("198053", "omeprazole 20 MG Delayed Release Oral Capsule"),
    ("966247", "levothyroxine sodium 0.05 MG Oral Tablet"),
    ("312940", "sertraline 50 MG Oral Tablet"),
    ("310431", "gabapentin 300 MG Oral Capsule"),
    _METFORMIN,
    ("847230", "3 ML insulin glargine 100 UNT/ML Pen Injector"),
    _CALCIUM_D,
)
_RESOURCES_PER_VISIT = 30  # on average, with the alternate-visit and annual extras


def _problem_list(pid: str, now: datetime) -> list[Json]:
    ago = _days_before(now)
    return [
        patient(pid, "male", date(now.year - 78, 9, 2)),
        condition(
            pid,
            "c-t2dm",
            ICD10CM,
            "E11.22",
            "Type 2 diabetes mellitus with diabetic chronic kidney disease",
            ago(5200),
        ),
        condition(pid, "c-ckd", ICD10CM, "N18.32", "Chronic kidney disease, stage 3b", ago(1500)),
        condition(pid, "c-op", SNOMED, "64859006", "Osteoporosis (disorder)", ago(1400)),
        condition(
            pid,
            "c-neuro",
            SNOMED,
            "368581000119106",
            "Neuropathy due to type 2 diabetes mellitus (disorder)",
            ago(2600),
        ),
        condition(
            pid, "c-htn", SNOMED, "38341003", "Hypertensive disorder, systemic arterial (disorder)", ago(6000)
        ),
        condition(pid, "c-lipid", ICD10CM, "E78.5", "Hyperlipidemia, unspecified", ago(5800)),
        condition(
            pid, "c-gerd", ICD10CM, "K21.9", "Gastro-esophageal reflux disease without esophagitis", ago(3000)
        ),
        condition(pid, "c-thyroid", ICD10CM, "E03.9", "Hypothyroidism, unspecified", ago(4200)),
        condition(pid, "c-oa", ICD10CM, "M17.11", "Unilateral primary osteoarthritis, right knee", ago(2100)),
        condition(pid, "c-dep", ICD10CM, "F32.A", "Depression, unspecified", ago(1900)),
        condition(pid, "c-anemia", SNOMED, "271737000", "Anemia (disorder)", ago(900)),
        condition(
            pid, "c-obesity", SNOMED, "162864005", "Body mass index 30+ - obesity (finding)", ago(3500)
        ),
        condition(pid, "c-sinus", SNOMED, "444814009", "Viral sinusitis (disorder)", ago(1200), active=False),
        condition(
            pid,
            "c-uti",
            ICD10CM,
            "N39.0",
            "Urinary tract infection, site not specified",
            ago(800),
            active=False,
        ),
        condition(
            pid,
            "c-fx",
            SNOMED,
            "443165006",
            "Pathological fracture due to osteoporosis (disorder)",
            ago(1450),
            active=False,
        ),
    ]


def _heavy_chart(now: datetime, limit: int) -> Iterator[Json]:
    """Patient and problem list, then visit after visit going back in time, cut at ``limit``."""
    head = _problem_list(PATIENT_ID, now)
    visits = max(20, (limit - len(head)) // _RESOURCES_PER_VISIT + 1)
    step = 5 * 365 / visits  # days between visits: the chart spans five years
    ago = _days_before(now)
    rng = random.Random(7)

    def stream() -> Iterator[Json]:
        yield from head
        n = 0
        while True:  # the caller stops at the limit
            yield from _visit(PATIENT_ID, n, ago(3 + step * n), rng)
            n += 1

    for count, resource in enumerate(stream()):
        if count >= limit:
            return
        yield resource


def _visit(pid: str, n: int, at: datetime, rng: random.Random) -> list[Json]:
    """One visit: chemistry and vitals; CBC, vitamin D and a Prolia injection every other visit;
    lipids, bone labs and DXA once a year; prescriptions renewed (the two newest are active)."""
    alternate = n % 2 == 1  # the lab reported some analytes in the other unit on odd visits
    out = [
        _observation(pid, f"{lab.prefix}-{n}", at, other if alternate and other else lab, rng)
        for lab, other in _VISIT_LABS
    ]
    out.append(blood_pressure(pid, f"bp-{n}", at, rng.uniform(128, 150), rng.uniform(72, 88)))
    if n % 2 == 0:
        out += [_observation(pid, f"{lab.prefix}-{n}", at, lab, rng) for lab in _CBC]
        out.append(_observation(pid, f"vitd-{n}", at, _VITAMIN_D_PAIR[n % 4 == 2], rng))
        out.append(medication_administration(pid, f"ma-prolia-{n}", *_PROLIA, at - timedelta(days=197)))
    if n % 4 == 0:
        out += [_observation(pid, f"{lab.prefix}-{n}", at, lab, rng) for lab in _ANNUAL]
        out.append(procedure(pid, f"pr-dxa-{n}", "312681000", "Bone density scan (procedure)", at))
        out.append(
            procedure(pid, f"pr-meds-{n}", "428191000124101", "Documentation of current medications", at)
        )
    status = "active" if n <= 1 else "completed"
    for i, (code, display) in enumerate(_PRESCRIPTIONS):
        if (n + i) % 2 == 0:  # each drug is renewed every other visit
            out.append(medication_request(pid, f"mr-{code}-{n}", code, display, at, status=status))
    return out


# ---------------------------------------------------------------------------------------- synthea


def synthea(now: datetime) -> BenchRequest:
    """The largest Synthea fixture (by size) as a patient-view request.

    Its resources of the prefetched types go into the prefetch Bundles with their urn:uuid fullUrls,
    which its references name; encounters, claims and the like are not prefetched, so not sent.

    Expected for Twyla Moen (T2DM with neuropathy, osteoporosis with a fragility fracture, on
    alendronate, last seen in 2019): diabetic-fracture-risk-phenotype (no DXA in two years),
    fall-risk-assessment-due (never assessed), monitoring-overdue (alendronate, no recent BMD).
    """
    del now  # the chart is as Synthea wrote it
    path = max(SYNTHEA.glob("*.json"), key=lambda p: p.stat().st_size)
    bundle = json.loads(path.read_text(encoding="utf-8"))
    full_urls = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": e["fullUrl"] for e in bundle["entry"]
    }
    chart = [e["resource"] for e in bundle["entry"]]
    pid = next(r["id"] for r in chart if r["resourceType"] == "Patient")
    kept = [r for r in chart if r["resourceType"] == "Patient" or r["resourceType"] in PREFETCH_KEYS]
    body = request_body("patient-view", pid, kept, full_urls=full_urls)
    who = " ".join(path.stem.split("_")[:2])
    expect = frozenset({"diabetic-fracture-risk-phenotype", "fall-risk-assessment-due", "monitoring-overdue"})
    return BenchRequest(f"synthea ({who})", "bone-health-patient-view", body, len(kept), expect)


__all__ = ["PATIENT_ID", "BenchRequest", "heavy", "request_body", "synthea", "typical"]
