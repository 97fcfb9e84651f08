"""Card wording for the denosumab topics, in English and Chinese (facts: see service.rules.denosumab)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from service.cards._wording import T2DM, Citation, Text, Wording, fmt_date, fmt_num
from service.kernel.findings import Finding, Topic
from service.kernel.record import PatientRecord
from service.rules.definitions import RenalFunction, SerumCalcium

_RENAL_EN = {
    "egfr": "eGFR {v} mL/min/1.73 m²",
    "crcl": "creatinine clearance {v} mL/min",
    "crcl-cockcroft-gault": "creatinine clearance {v} mL/min (Cockcroft–Gault, from serum creatinine)",
}
_RENAL_ZH = {
    "egfr": "肾小球滤过率(eGFR){v} mL/min/1.73 m²",
    "crcl": "肌酐清除率 {v} mL/min",
    "crcl-cockcroft-gault": "肌酐清除率 {v} mL/min(由血肌酐按Cockcroft–Gault公式估算)",
}


def renal_text(renal: RenalFunction, lang: str) -> str:
    """ "eGFR 28 mL/min/1.73 m² on 2026-10-02" in the card's language."""
    table = _RENAL_ZH if lang == "zh" else _RENAL_EN
    value = table.get(renal.kind, table["egfr"]).format(v=fmt_num(renal.value, 1))
    day = fmt_date(renal.at, lang)
    return f"{value}({day})" if lang == "zh" else f"{value} on {day}"


def _renal_short(renal: RenalFunction) -> str:
    """For summaries: "eGFR 28" / "CrCl 28"."""
    return f"{'eGFR' if renal.kind == 'egfr' else 'CrCl'} {fmt_num(renal.value, 1)}"


def calcium_text(ca: SerumCalcium, lang: str) -> str:
    """The latest serum calcium, saying when it was albumin-corrected (rules.md)."""
    day = fmt_date(ca.at, lang)
    if ca.albumin_g_per_l is None:
        return (
            f"{fmt_num(ca.value)} mmol/L({day})" if lang == "zh" else f"{fmt_num(ca.value)} mmol/L on {day}"
        )
    if lang == "zh":
        return (
            f"{fmt_num(ca.value)} mmol/L({day};按同日白蛋白 {fmt_num(ca.albumin_g_per_l, 1)} g/L 校正,"
            f"实测 {fmt_num(ca.measured)} mmol/L)"
        )
    return (
        f"{fmt_num(ca.value)} mmol/L on {day} (corrected for albumin {fmt_num(ca.albumin_g_per_l, 1)} g/L "
        f"of the same day; measured {fmt_num(ca.measured)} mmol/L)"
    )


def _day(facts: Mapping[str, Any], key: str, lang: str) -> str:
    value = facts[key]
    assert isinstance(value, date)
    return fmt_date(value, lang)


# --- denosumab-sequencing-missing -----------------------------------------------------------------


def _sequencing(finding: Finding, record: PatientRecord, lang: str) -> Text:
    f = finding.facts
    last = _day(f, "last_dose", lang)
    renal: RenalFunction | None = f["renal"]
    if lang == "zh":
        return _sequencing_zh(f, last, renal)
    why = f"{f['days_since']} days ago; " + (
        "the order was stopped" if f["discontinued"] else "over 7 months"
    )
    lines = [
        f"**Last denosumab dose:** {f['name']}, {last} ({why}). No bisphosphonate has been recorded since.",
        "",
        "Stopping denosumab is followed by rapid rebound bone loss, worse with the low bone turnover of "
        "type 2 diabetes (T2DM §3); multiple vertebral fractures have been reported after stopping "
        "(outside the seeds). A bisphosphonate should follow within 6 months of the last injection.",
        "",
    ]
    if f["renal_low"]:
        assert renal is not None
        summary = (
            f"Denosumab last given {last}: {_renal_short(renal)} rules out a bisphosphonate to follow it, "
            "so do not stop denosumab"
        )
        lines += [
            f"**Renal function:** {renal_text(renal, lang)}, below 35: a bisphosphonate is contraindicated "
            "(T2DM §3).",
            "",
            "**Recommendation:** do not stop denosumab. Give the next dose once serum calcium, phosphate, PTH "
            "and 25-OH vitamin D have been checked (below 30 it can cause severe hypocalcaemia), and seek the "
            "advice of a bone or renal specialist. The card suggests no medication order.",
        ]
    else:
        summary = (
            f"Denosumab last given {last} and no bisphosphonate since: start one to prevent rebound bone loss"
        )
        renal_line = (
            f"Latest renal function: {renal_text(renal, lang)}."
            if renal is not None
            else "No renal function within 365 days: check serum creatinine/eGFR before the bisphosphonate."
        )
        lines += [
            "**Recommendation:** start zoledronic acid 5 mg IV once or alendronate 70 mg once weekly from "
            f"{_day(f, 'start', lang)} (6 months after the last injection, or now if that day has passed). "
            + renal_line,
            "",
            "The card offers a draft order for one of them.",
        ]
    return Text(summary, "\n".join(lines))


def _sequencing_zh(f: Mapping[str, Any], last: str, renal: RenalFunction | None) -> Text:
    why = f"已过去 {f['days_since']} 天;" + ("医嘱已停用" if f["discontinued"] else "超过 7 个月")
    lines = [
        f"**末次地舒单抗注射:** {f['name']},{last}({why})。此后未记录任何双膦酸盐治疗。",
        "",
        "停用地舒单抗后骨量会快速反弹丢失,T2DM 患者骨转换率低,反弹更明显(T2DM §3);"
        "停药后发生多发椎体骨折亦有报道(非种子文献)。应在末次注射后 6 个月内给予双膦酸盐序贯治疗。",
        "",
    ]
    if f["renal_low"]:
        assert renal is not None
        summary = f"地舒单抗末次注射 {last} 后未序贯,{_renal_short(renal)} 不宜用双膦酸盐:请勿停用地舒单抗"
        lines += [
            f"**肾功能:** {renal_text(renal, 'zh')},低于 35:禁用双膦酸盐(T2DM §3)。",
            "",
            "**建议:** 不要停用地舒单抗。先检测血清钙、磷、甲状旁腺激素(PTH)和25-羟维生素D,"
            "结果可接受后再注射下一剂(肾功能低于 30 时可致严重低钙血症),并请骨质疏松或肾内科专科会诊。"
            "本卡片不建议开具任何药物医嘱。",
        ]
    else:
        summary = f"地舒单抗末次注射 {last} 后未序贯双膦酸盐:请开始序贯治疗,以防骨量快速反弹丢失"
        renal_line = (
            f"最近肾功能:{renal_text(renal, 'zh')}。"
            if renal is not None
            else "365 天内无肾功能结果:使用双膦酸盐前请先检测血肌酐/eGFR。"
        )
        lines += [
            f"**建议:** 自 {fmt_date(f['start'], 'zh')} 起(末次注射后 6 个月;如该日已过则立即)开始"
            "唑来膦酸 5 mg 静脉滴注一次,或阿仑膦酸钠 70 mg 每周一次。" + renal_line,
            "",
            "本卡片提供其中一种药物的医嘱草稿。",
        ]
    return Text(summary, "\n".join(lines))


# --- denosumab-dose-due ---------------------------------------------------------------------------


def _dose_due(finding: Finding, record: PatientRecord, lang: str) -> Text:
    f = finding.facts
    last, due, end = _day(f, "last_dose", lang), _day(f, "due", lang), _day(f, "window_end", lang)
    renal: RenalFunction | None = f["renal"]
    if lang == "zh":
        summary = f"地舒单抗应注射下一剂:末次注射 {last},自 {due} 起到期(每 6 个月一次)"
        lines = [
            f"**末次地舒单抗注射:** {f['name']},{last}(已过去 {f['days_since']} 天)。"
            f"每 6 个月一次的下一剂自 {due} 起到期。",
            "",
            f"**建议:** 现在注射下一剂。如果决定停用地舒单抗,请现在改用双膦酸盐(唑来膦酸或阿仑膦酸钠)"
            f"序贯治疗,不要等到 {end} 之后:停药后骨量会快速反弹丢失,T2DM 骨转换率低,反弹更明显(T2DM §3)。",
        ]
        if f["renal_low"] and renal is not None:
            lines += [
                "",
                f"**肾功能:** {renal_text(renal, 'zh')},低于 35,不宜改用双膦酸盐:请勿停用地舒单抗。",
            ]
        return Text(summary, "\n".join(lines))
    summary = f"Denosumab dose due: last injection {last}, next 6-monthly dose due since {due}"
    lines = [
        f"**Last denosumab dose:** {f['name']}, {last} ({f['days_since']} days ago). The next 6-monthly dose "
        f"has been due since {due}.",
        "",
        "**Recommendation:** give the next dose now. If denosumab is to be stopped, start a bisphosphonate "
        f"(zoledronic acid or alendronate) now instead, not after {end}: stopping without sequencing "
        "causes rebound bone loss, worse with the low bone turnover of type 2 diabetes (T2DM §3).",
    ]
    if f["renal_low"] and renal is not None:
        lines += [
            "",
            f"**Renal function:** {renal_text(renal, lang)}, below 35: a bisphosphonate is no alternative, "
            "so denosumab should not be stopped.",
        ]
    return Text(summary, "\n".join(lines))


# --- denosumab-hypocalcemia-monitoring ------------------------------------------------------------


def _hypocalcemia(finding: Finding, record: PatientRecord, lang: str) -> Text:
    f = finding.facts
    last = _day(f, "last_dose", lang)
    renal: RenalFunction = f["renal"]
    ca: SerumCalcium | None = f["calcium"]
    check_from, check_by = _day(f, "check_from", lang), _day(f, "check_by", lang)
    window = f["window_days"]
    if lang == "zh":
        summary = f"请查血清钙:{_renal_short(renal)}(<30)且 {last} 注射过地舒单抗,有严重低钙血症风险"
        missing = []
        if f["missing_post_dose"]:
            missing.append(f"注射后第 7 天({check_from})起未查血清钙(应于 {check_by} 前完成)")
        if f["missing_recent"]:
            missing.append(f"近 {window} 天内无血清钙结果")
        latest = f"最近血清钙:{calcium_text(ca, 'zh')}。" if ca else "从未记录血清钙。"
        lines = [
            f"**肾功能:** {renal_text(renal, 'zh')}。**末次地舒单抗注射:** {f['name']},{last}。",
            "",
            f"**缺少的监测:** {';'.join(missing) or '无'}。{latest}",
            "",
            "**建议:** 每次注射后第一个月每周查血清钙,此后每月一次(说明书);序贯治疗期间及停药后数月内"
            "亦应密切监测血钙,尤其是合并中重度糖尿病肾病者(T2DM §3)。本卡片提供血清钙检查医嘱。",
        ]
        return Text(summary, "\n".join(lines))
    summary = f"Check serum calcium: denosumab on {last} with {_renal_short(renal)} (<30) risks severe hypocalcaemia"
    missing = []
    if f["missing_post_dose"]:
        missing.append(f"no serum calcium since day 7 after the dose ({check_from}; due by {check_by})")
    if f["missing_recent"]:
        missing.append(f"no serum calcium within {window} days")
    latest = (
        f"Latest serum calcium: {calcium_text(ca, lang)}."
        if ca
        else "No serum calcium has ever been recorded."
    )
    lines = [
        f"**Renal function:** {renal_text(renal, lang)}. **Last denosumab dose:** {f['name']}, {last}.",
        "",
        f"**Missing:** {'; '.join(missing) or 'none'}. {latest}",
        "",
        "**Recommendation:** check serum calcium weekly in the first month after each dose and monthly after "
        "(product label), and closely during sequencing and in the months after stopping, especially with "
        "moderate-to-severe diabetic kidney disease (T2DM §3). The card offers a serum calcium order.",
    ]
    return Text(summary, "\n".join(lines))


_LABEL_EN = "denosumab product label (Prolia)"
_LABEL_ZH = "地舒单抗(普罗力)说明书"

WORDING: dict[Topic, Wording] = {
    Topic.DENOSUMAB_SEQUENCING_MISSING: Wording(
        title_en="Denosumab stopped or overdue without bisphosphonate sequencing",
        title_zh="地舒单抗停用或逾期且未序贯双膦酸盐",
        citations=(
            Citation(
                T2DM,
                ("3",),
                extra_en="vertebral fractures after stopping denosumab: reported outside the seeds",
                extra_zh="停用地舒单抗后椎体骨折:见于种子文献以外的报道",
            ),
        ),
        compose=_sequencing,
    ),
    Topic.DENOSUMAB_DOSE_DUE: Wording(
        title_en="Denosumab 6-monthly dose due",
        title_zh="地舒单抗 6 个月一次的注射到期",
        citations=(Citation(T2DM, ("3",), extra_en=_LABEL_EN, extra_zh=_LABEL_ZH),),
        compose=_dose_due,
    ),
    Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING: Wording(
        title_en="Serum calcium monitoring on denosumab with low renal function",
        title_zh="肾功能低下患者使用地舒单抗期间的血钙监测",
        citations=(Citation(T2DM, ("3",), extra_en=_LABEL_EN, extra_zh=_LABEL_ZH),),
        compose=_hypocalcemia,
    ),
}
