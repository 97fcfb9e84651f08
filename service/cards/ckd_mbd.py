"""Composer of ``ckd-mineral-bone-workup`` (T2DM review sections 1.3 and 1.4, KDIGO; revision 3).

The card quotes the eGFR (or dialysis) and the bone fragility, lists the CKD–mineral and bone disorder
tests without a recent result (one order each) and those already ordered.
"""

from __future__ import annotations

from typing import Any

from service.cards._phrases import num, phrases
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.cards.calcium import lab_names, pending_line
from service.kernel.facts.ckd_mbd import CkdMbdFacts
from service.kernel.findings import Finding, Topic


def _ckd_mbd(finding: Finding[CkdMbdFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    kidney = []
    if facts.egfr is not None and facts.egfr.value < facts.egfr_threshold:
        kidney.append(t("egfr_line", renal=p.renal(facts.egfr), egfr_threshold=num(facts.egfr_threshold, 1)))
    if facts.dialysis:
        kidney.append(t("dialysis_line"))
    tests = lab_names(p, facts.missing)
    parts = [
        "\n".join(kidney),
        t("fragility_line", fragility=p.fragility_inline(facts.fragility)),
        t("missing_line", tests=tests, interval=p.span(facts.interval_days)),
    ]
    if facts.pending:
        parts.append(pending_line(t, p, facts.pending))
    parts.append(t("advice"))
    return Text(t("summary"), "\n\n".join(parts))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.CKD_MINERAL_BONE_WORKUP: TopicWording(
        CkdMbdFacts,
        _ckd_mbd,
        derived=frozenset({"renal", "tests", "interval", "pending_tests", "test", "ordered_day"}),
    ),
}
