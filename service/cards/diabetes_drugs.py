"""Card wording for glucose-lowering drugs and bone (T2DM §1.4, §2.1, §2.2), in English and Chinese.

Each compose function reads the facts documented in :mod:`service.rules.diabetes_drugs`. The seed
citation is appended by the card assembly; claims that are not in the seeds say so inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.cards._drug_orders import orders_line
from service.cards._wording import T2DM, Citation, Text, Wording, fmt_date, fmt_num
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import PatientRecord

_SITES = {
    "lumbar-spine": ("lumbar spine", "腰椎"),
    "hip": ("hip", "髋部"),
    "femoral-neck": ("femoral neck", "股骨颈"),
    "other": ("another site", "其他部位"),
}

_ALTERNATIVES = {
    "en": (
        "- **Metformin**: the first-line basic drug, with a possible osteogenic (bone-forming) effect\n"
        "- **GLP-1 receptor agonist**: no adverse effect on bone\n"
        "- **DPP-4 inhibitor**: no adverse effect on bone"
    ),
    "zh": (
        "- **二甲双胍**：首选基础用药，具有潜在成骨作用\n"
        "- **GLP-1受体激动剂**：对骨无不良影响\n"
        "- **DPP-4抑制剂**：对骨无不良影响"
    ),
}


def fragility_lines(facts: Mapping[str, Any], language: str) -> list[str]:
    """The patient's bone-fragility evidence as markdown bullets with their own values and dates."""
    zh = language == "zh"
    lines: list[str] = []
    reasons = facts.get("fragility", ())
    if "osteoporosis" in reasons:
        since = facts.get("osteoporosis_onset")
        if zh:
            lines.append("病历记录骨质疏松症" + (f"（自{fmt_date(since, 'zh')}起）" if since else ""))
        else:
            lines.append(
                "osteoporosis on the problem list" + (f" (since {fmt_date(since, 'en')})" if since else "")
            )
    if "fragility-fracture" in reasons:
        when = facts.get("fracture_onset")
        if zh:
            lines.append("脆性（骨质疏松性）骨折史" + (f"（{fmt_date(when, 'zh')}）" if when else ""))
        else:
            lines.append(
                "a fragility (osteoporotic) fracture" + (f" on {fmt_date(when, 'en')}" if when else "")
            )
    if "t-score" in reasons:
        site_en, site_zh = _SITES.get(facts.get("t_score_site") or "other", _SITES["other"])
        score = fmt_num(facts["t_score"], 1)
        measured = fmt_date(facts["t_score_date"], language)
        if zh:
            lines.append(f"{measured}双能X线骨密度（DXA）{site_zh}T值{score}（≤-2.5）")
        else:
            lines.append(f"DXA T-score {score} at the {site_en} on {measured} (≤ -2.5)")
    if "anti-osteoporosis-drug" in reasons:
        drug, given = facts.get("anti_op_drug"), facts.get("anti_op_date")
        if zh:
            lines.append(
                f"既往使用抗骨质疏松药物：{drug}" + (f"（{fmt_date(given, 'zh')}）" if given else "")
            )
        else:
            lines.append(
                f"anti-osteoporosis treatment on record: {drug}"
                + (f" ({fmt_date(given, 'en')})" if given else "")
            )
    return [f"- {line}" for line in lines]


def _fragility_block(facts: Mapping[str, Any], language: str) -> str:
    heading = "**骨质疏松/脆性骨折依据：**" if language == "zh" else "**Bone fragility:**"
    return "\n".join([heading, *fragility_lines(facts, language)])


# --- tzd-fracture-risk ----------------------------------------------------------------------------


def _tzd(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    view = "ordered" in facts
    info = finding.indicator is Indicator.INFO
    parts = [orders_line(facts, language)]
    if language == "zh":
        if info:
            summary = "噻唑烷二酮类（如吡格列酮）增加骨折风险，女性尤甚"
            parts.append(
                "患者为女性2型糖尿病患者。噻唑烷二酮类药物明确增加骨折风险，尤其是女性。"
                "病历中未见骨质疏松症、脆性骨折、T值≤-2.5或抗骨质疏松治疗记录，故仅作提示。"
            )
        else:
            summary = (
                "患者合并骨质疏松或脆性骨折仍在使用噻唑烷二酮类药物，骨折风险增加，请评估换药"
                if view
                else "噻唑烷二酮类（如吡格列酮）明确增加骨折风险，不推荐用于骨质疏松或脆性骨折患者"
            )
            parts.append(_fragility_block(facts, language))
            parts.append(
                "噻唑烷二酮类药物（如吡格列酮）明确增加骨折风险，尤其是女性，不推荐用于合并骨质疏松症的患者。"
            )
        lead = (
            "请评估是否仍需该药，可考虑换用对骨代谢中性或有益的降糖药："
            if view
            else "**可考虑对骨代谢中性或有益的降糖药：**"
        )
        parts.append(f"{lead}\n{_ALTERNATIVES['zh']}")
        if finding.delete_drafts:
            parts.append("本卡片提供删除该草稿医嘱的建议。")
    else:
        if info:
            summary = "TZDs (pioglitazone, rosiglitazone) raise fracture risk, especially in women"
            parts.append(
                "The patient is a woman with type 2 diabetes. Thiazolidinediones clearly increase fracture "
                "risk, especially in women. No osteoporosis, fragility fracture, T-score ≤ -2.5 or "
                "anti-osteoporosis treatment is on record, so this card is for information."
            )
        else:
            summary = (
                "On a TZD despite bone fragility: TZDs raise fracture risk; review and consider switching"
                if view
                else "TZDs (pioglitazone, rosiglitazone) raise fracture risk: not advised with osteoporosis"
            )
            parts.append(_fragility_block(facts, language))
            parts.append(
                "Thiazolidinediones (such as pioglitazone) clearly increase fracture risk, especially in "
                "women, and are not recommended for patients with osteoporosis."
            )
        lead = (
            "Review whether the TZD is still needed, and consider a bone-neutral or beneficial option instead:"
            if view
            else "**Consider bone-neutral or beneficial glucose-lowering drugs instead:**"
        )
        parts.append(f"{lead}\n{_ALTERNATIVES['en']}")
        if finding.delete_drafts:
            parts.append("The card offers to remove the draft order.")
    return Text(summary, "\n\n".join(parts))


# --- sglt2-fracture-caution -----------------------------------------------------------------------


def _sglt2(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    value, day = fmt_num(facts["egfr"], 1), fmt_date(facts["egfr_date"], language)
    cutoff = fmt_num(facts["egfr_threshold"], 1)
    if language == "zh":
        summary = f"SGLT2抑制剂可能增加骨折风险：患者有骨质疏松/脆性骨折且eGFR {value}（低于{cutoff}）"
        parts = [
            orders_line(facts, language),
            f"**估算肾小球滤过率（eGFR）：**{value} mL/min/1.73 m²（{day}），低于{cutoff}",
            _fragility_block(facts, language),
            "部分早期研究提示SGLT2抑制剂可能增加骨折风险，肾功能不佳者尤需注意。",
            "**若SGLT2抑制剂用于慢性肾脏病或心力衰竭的适应证，请勿因此停用或不用**：本卡片仅为注意提示，"
            "并非禁忌（临床实践，非综述内容）。若仅为降糖，对骨代谢中性或有益的选择有：\n"
            + _ALTERNATIVES["zh"],
        ]
    else:
        summary = f"SGLT2 inhibitor may raise fracture risk: bone fragility and eGFR {value} (below {cutoff})"
        parts = [
            orders_line(facts, language),
            f"**eGFR:** {value} mL/min/1.73 m² on {day}, below {cutoff}",
            _fragility_block(facts, language),
            "Some early studies suggest that SGLT2 inhibitors may increase fracture risk; patients with poor "
            "renal function need particular care.",
            "**Do not withhold an SGLT2 inhibitor that is indicated for kidney disease or heart failure**: "
            "this card is a caution, not a contraindication (practice, not in the seeds). Where it is for "
            "glucose lowering alone, bone-neutral or beneficial options are:\n" + _ALTERNATIVES["en"],
        ]
    return Text(summary, "\n\n".join(parts))


# --- insulin-hypoglycemia-fall-risk ---------------------------------------------------------------


def _insulin(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    reasons: list[str] = []
    zh = language == "zh"
    if facts["older_with_fragility"]:
        age, cutoff = facts["age"], facts["older_age_years"]
        reasons.append(
            f"- 年龄{age}岁（≥{cutoff}岁）且有骨质疏松/脆性骨折"
            if zh
            else f"- age {age} (≥ {cutoff}) with bone fragility"
        )
    if facts["hypoglycaemia"]:
        when = facts.get("hypoglycaemia_onset")
        if zh:
            reasons.append("- 低血糖病史" + (f"（{fmt_date(when, 'zh')}）" if when else ""))
        else:
            reasons.append(
                "- a history of hypoglycaemia" + (f" (recorded {fmt_date(when, 'en')})" if when else "")
            )
    parts = [orders_line(facts, language)]
    if zh:
        summary = "胰岛素易致低血糖和跌倒：请个体化设定血糖目标，避免低血糖，并评估跌倒风险"
        parts.append("**该患者的风险：**\n" + "\n".join(reasons))
        if facts.get("fragility"):
            parts.append(_fragility_block(facts, language))
        parts += [
            "胰岛素易引起低血糖，增加跌倒风险，老年人应谨慎使用；严重低血糖是老年2型糖尿病患者髋部骨折的重要诱因。",
            "- **个体化血糖目标**：依据年龄、病程、骨质疏松严重程度、并发症及预期寿命制定，而非统一的严格标准\n"
            "- **避免低血糖**：避免过度控糖\n"
            "- **跌倒风险筛查**：足部感觉（10 g单丝）、周围神经病变、视力与白内障、低血糖史、"
            "起立-行走计时测试（TUG）、居家环境安全（地毯、门槛、照明）",
        ]
    else:
        summary = "Insulin can cause hypoglycaemia and falls: set an individual target, avoid lows, screen fall risk"
        parts.append("**Why this patient:**\n" + "\n".join(reasons))
        if facts.get("fragility"):
            parts.append(_fragility_block(facts, language))
        parts += [
            "Insulin readily causes hypoglycaemia, which raises the risk of falls; use it with care in older "
            "adults. Severe hypoglycaemia is an important trigger of hip fracture in older people with type 2 "
            "diabetes.",
            "- **Individual glycaemic target**: set by age, diabetes duration, severity of osteoporosis, "
            "complications and life expectancy, rather than one fixed strict target\n"
            "- **Avoid hypoglycaemia**: avoid over-tight glucose control\n"
            "- **Fall-risk screening**: foot sensation (10 g monofilament), peripheral neuropathy, vision and "
            "cataract, hypoglycaemia history, Timed Up and Go test, home safety (rugs, thresholds, lighting)",
        ]
    return Text(summary, "\n\n".join(parts))


WORDING: dict[Topic, Wording] = {
    Topic.TZD_FRACTURE_RISK: Wording(
        title_en="Thiazolidinedione and fracture risk",
        title_zh="噻唑烷二酮类药物与骨折风险",
        citations=(Citation(T2DM, ("2.2",)),),
        compose=_tzd,
    ),
    Topic.SGLT2_FRACTURE_CAUTION: Wording(
        title_en="SGLT2 inhibitor, bone fragility and low eGFR",
        title_zh="SGLT2抑制剂、骨质疏松与肾功能下降",
        citations=(
            Citation(
                T2DM,
                ("2.2",),
                extra_en="not withholding it for kidney disease or heart failure: practice, not in the seeds",
                extra_zh="肾脏病或心力衰竭适应证不应停用：临床实践，非综述内容",
            ),
        ),
        compose=_sglt2,
    ),
    Topic.INSULIN_HYPOGLYCEMIA_FALL_RISK: Wording(
        title_en="Insulin, hypoglycaemia and fall risk",
        title_zh="胰岛素、低血糖与跌倒风险",
        citations=(Citation(T2DM, ("1.4", "2.1", "2.2")),),
        compose=_insulin,
    ),
}
