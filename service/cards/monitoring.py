"""Card wording for ``monitoring-overdue``, in English and Chinese (facts: see service.rules.monitoring)."""

from __future__ import annotations

from service.cards._wording import T2DM, Citation, Text, Wording, fmt_date, fmt_num
from service.kernel.findings import Finding, Topic
from service.kernel.record import Lab, Measurement, PatientRecord
from service.rules.monitoring import Check, CheckStatus, Therapy, TherapyKind

_CHECK = {
    Check.CALCIUM: ("serum calcium", "血清钙"),
    Check.RENAL_FUNCTION: ("renal function (serum creatinine/eGFR)", "肾功能(血肌酐/eGFR)"),
    Check.TURNOVER_MARKER: (
        "bone turnover marker (CTX, P1NP or bone ALP)",
        "骨转换标志物(CTX、P1NP或骨特异性碱性磷酸酶)",
    ),
    Check.BMD: ("bone density (DXA)", "骨密度(DXA)"),
    Check.PHOSPHATE: ("serum phosphate", "血清磷"),
    Check.PTH: ("PTH", "甲状旁腺激素(PTH)"),
    Check.VITAMIN_D: ("25-OH vitamin D", "25-羟维生素D"),
}
_THERAPY = {
    TherapyKind.ANTIRESORPTIVE: ("antiresorptive therapy", "抗骨吸收治疗"),
    TherapyKind.ANABOLIC: ("anabolic therapy", "促骨形成治疗"),
    TherapyKind.SUPPLEMENT: ("calcium/vitamin D supplements", "钙剂/维生素D补充"),
}
_WHY = {
    TherapyKind.ANTIRESORPTIVE: (
        "On a bisphosphonate, renal function, serum calcium and bone turnover markers are monitored every "
        "6–12 months (T2DM §3); the same tests are kept up on denosumab.",
        "双膦酸盐治疗建议每 6–12 个月监测肾功能、血钙与骨转换标志物(T2DM §3);地舒单抗治疗期间同样监测。",
    ),
    TherapyKind.ANABOLIC: (
        "On teriparatide or abaloparatide, watch for hypercalcaemia and monitor bone density and bone "
        "turnover markers (T2DM §3).",
        "特立帕肽或阿巴洛肽治疗期间需警惕高钙血症,并定期监测骨密度与骨转换标志物(T2DM §3)。",
    ),
    TherapyKind.SUPPLEMENT: (
        "On calcium and vitamin D, check serum calcium, phosphate, PTH and 25-OH vitamin D regularly so "
        "that over-supplementation does not cause hypercalcaemia (T2DM §2.3).",
        "补充钙剂与维生素D期间应定期检测血清钙、磷、PTH 及 25-羟维生素D,避免过量补充导致高钙血症(T2DM §2.3)。",
    ),
}
_RESULT_NAME = {
    Lab.EGFR: "eGFR",
    Lab.CREATININE_CLEARANCE: "CrCl",
    Lab.CREATININE: "creatinine",
    Lab.CTX: "CTX",
    Lab.P1NP: "P1NP",
    Lab.BONE_ALP: "bone ALP",
    Lab.BMD: "BMD",
    Lab.T_SCORE: "T-score",
    Lab.Z_SCORE: "Z-score",
}


def _word(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "zh" else pair[0]


def _result(m: Measurement, lang: str) -> str:
    """ "2025-06-01 (eGFR 62 mL/min/1.73 m2)": the date, and the value when there is one."""
    day = fmt_date(m.at, lang)
    if m.value is None:
        return day
    name = _RESULT_NAME.get(m.lab, "")
    unit = m.unit if m.unit and not m.unit.startswith("{") else ""  # no "{T-score}" annotations
    value = " ".join(p for p in (name, fmt_num(m.value), unit) if p)
    return f"{day}({value})" if lang == "zh" else f"{day} ({value})"


def _check_line(s: CheckStatus, lang: str) -> str:
    name = _word(_CHECK[s.check], lang)
    if lang == "zh":
        last = f"上次 {_result(s.last, lang)}" if s.last else "从未检测"
        when = f",自 {fmt_date(s.due, lang)} 起逾期" if s.last and s.due else ""
        return f"- **{name}**(每 {s.interval_days} 天):{last}{when}"
    last = f"last done {_result(s.last, lang)}" if s.last else "never recorded"
    when = f", overdue since {fmt_date(s.due, lang)}" if s.last and s.due else ""
    return f"- **{name[:1].upper()}{name[1:]}** (every {s.interval_days} days): {last}{when}"


def _therapy_line(t: Therapy, lang: str) -> str:
    names = "、".join(t.names) if lang == "zh" else ", ".join(t.names)
    since = fmt_date(t.since, lang)
    if lang == "zh":
        return f"- {_word(_THERAPY[t.kind], lang)}:{names}(首次记录 {since})"
    return f"- {_word(_THERAPY[t.kind], lang)}: {names} (first recorded {since})"


def _join_en(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _summary(therapies: tuple[Therapy, ...], overdue: tuple[CheckStatus, ...], lang: str) -> str:
    kinds = [_word(_THERAPY[t.kind], lang) for t in therapies]
    tests = [_word(_CHECK[s.check], lang).split("(")[0].split("(")[0].strip() for s in overdue]
    if lang == "zh":
        full = f"{'、'.join(kinds)}的监测逾期:{'、'.join(tests)}超过间隔未查"
        short = f"{'、'.join(kinds)}的监测逾期:{len(tests)} 项检查超过间隔未查"
    else:
        full = f"Monitoring overdue on {_join_en(kinds)}: {', '.join(tests)} not done in time"
        short = f"Monitoring overdue on {_join_en(kinds)}: {len(tests)} tests not done in time"
    return full if len(full) < 140 else short


def _compose(finding: Finding, record: PatientRecord, lang: str) -> Text:
    therapies: tuple[Therapy, ...] = finding.facts["therapies"]
    overdue: tuple[CheckStatus, ...] = finding.facts["overdue"]
    current = [s for s in finding.facts["tests"] if not s.overdue]
    if lang == "zh":
        lines = [
            "**需要监测的治疗:**",
            *(_therapy_line(t, lang) for t in therapies),
            "",
            "**逾期的检查:**",
            *(_check_line(s, lang) for s in overdue),
        ]
        if current:
            lines += ["", "按时完成:" + "、".join(_word(_CHECK[s.check], lang) for s in current) + "。"]
        lines += ["", "**建议:** 安排上述检查。" + "".join(_WHY[t.kind][1] for t in therapies), ""]
        lines.append("本卡片为每项逾期检查提供一个检查医嘱。")
    else:
        lines = [
            "**Therapies that call for monitoring:**",
            *(_therapy_line(t, lang) for t in therapies),
            "",
            "**Overdue tests:**",
            *(_check_line(s, lang) for s in overdue),
        ]
        if current:
            lines += ["", "Up to date: " + ", ".join(_word(_CHECK[s.check], lang) for s in current) + "."]
        lines += [
            "",
            "**Recommendation:** order the tests above. " + " ".join(_WHY[t.kind][0] for t in therapies),
        ]
        lines += ["", "The card offers one order per overdue test."]
    return Text(_summary(therapies, overdue, lang), "\n".join(lines))


WORDING: dict[Topic, Wording] = {
    Topic.MONITORING_OVERDUE: Wording(
        title_en="Bone therapy monitoring overdue",
        title_zh="骨质疏松治疗相关监测逾期",
        citations=(
            Citation(
                T2DM,
                ("2.3", "3"),
                extra_en="intervals other than the 6–12 months for bisphosphonates: practice, not in the seeds",
                extra_zh="双膦酸盐 6–12 个月以外的监测间隔:临床惯例,非种子文献",
            ),
        ),
        compose=_compose,
    ),
}
