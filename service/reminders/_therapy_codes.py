"""RxNorm codes the periodic scan searches MedicationRequests by (verified rows of the project's
terminology kit, shared/terminology/codes.csv). The scan only finds candidates; the rules decide.

Oncology regimens (denosumab 120 mg / Xgeva, zoledronic acid 4 mg / Zometa) are left out: they count
for no rule. A product coded only by text is not found by a code search; its patient gets reminders
when a hook evaluates the chart.
"""

from __future__ import annotations

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

DENOSUMAB = ("993449", "993452", "993456", "993453")  # ingredient, 60 mg SCD/SBD, Prolia
BISPHOSPHONATES = (
    "77655", "705824", "705875", "705872",  # zoledronic acid, 5 mg/100 mL, Reclast
    "46041", "904431", "904433", "904492", "904462",  # alendronate (with cholecalciferol)
    "73056", "905024", "905026", "1020064",  # risedronate
    "115264", "904932", "904934", "904955", "904952", "904954",  # ibandronate oral and IV
)  # fmt: skip
ANABOLICS = ("32915", "1435115", "1435117", "352657")  # teriparatide, Forteo
CALCIUM_VITAMIN_D = (
    "2418", "199362", "801663", "705728", "11253",  # cholecalciferol, vitamin D
    "1897", "282465", "809536", "608343",  # calcium carbonate (with cholecalciferol)
    "1894", "308867", "209006",  # calcitriol
)  # fmt: skip

TRACKED_THERAPY_CODES: tuple[str, ...] = DENOSUMAB + BISPHOSPHONATES + ANABOLICS + CALCIUM_VITAMIN_D
