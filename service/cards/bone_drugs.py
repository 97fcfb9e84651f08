"""Card wording for bone drugs (T2DM §2.3, §3), in English and Chinese.

Each compose function reads the facts documented in :mod:`service.rules.bone_drugs`. Renal function
is always quoted with its measure (eGFR or creatinine clearance), its date, and, when computed, the
Cockcroft–Gault inputs; calcium says whether it was albumin-corrected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.cards._drug_orders import orders_line
from service.cards._wording import T2DM, Citation, Text, Wording, fmt_date, fmt_num
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import PatientRecord

# measure → (short en, full en, unit, short zh, full zh)
_MEASURES = {
    "egfr": ("eGFR", "eGFR", "mL/min/1.73 m²", "eGFR", "估算肾小球滤过率（eGFR）"),
    "crcl": ("CrCl", "creatinine clearance", "mL/min", "肌酐清除率", "肌酐清除率"),
    "crcl-cockcroft-gault": (
        "CrCl (Cockcroft–Gault)",
        "creatinine clearance",
        "mL/min",
        "肌酐清除率（估算）",
        "肌酐清除率",
    ),
    "creatinine": ("serum creatinine", "serum creatinine", "mg/dL", "血肌酐", "血肌酐"),
}
_LAB_KIND = {"egfr": "egfr", "creatinine-clearance": "crcl", "creatinine": "creatinine"}
_SEX_ZH = {"female": "女性", "male": "男性"}


# --- shared phrases -------------------------------------------------------------------------------


def renal_text(facts: Mapping[str, Any], language: str) -> str:
    """ "eGFR 28 mL/min/1.73 m² on 2026-10-02", with the other measure or the Cockcroft–Gault inputs."""
    zh = language == "zh"
    kind = facts["renal_kind"]
    _, full_en, unit, _, full_zh = _MEASURES[kind]
    value, day = fmt_num(facts["renal"], 1), fmt_date(facts["renal_date"], language)
    if kind == "crcl-cockcroft-gault" and "cg_creatinine" in facts:
        cr, cr_day = fmt_num(facts["cg_creatinine"], 2), fmt_date(facts["cg_creatinine_date"], language)
        weight, w_day = fmt_num(facts["cg_weight"], 1), fmt_date(facts["cg_weight_date"], language)
        age, sex = facts["cg_age"], facts["cg_sex"]
        if zh:
            return (
                f"肌酐清除率{value} mL/min（无eGFR或实测肌酐清除率，按Cockcroft-Gault公式由{cr_day}血肌酐"
                f"{cr} mg/dL、体重{weight} kg（{w_day}）、年龄{age}岁、{_SEX_ZH.get(sex, sex)}计算）"
            )
        return (
            f"creatinine clearance {value} mL/min, computed by the Cockcroft–Gault formula (no eGFR or "
            f"measured creatinine clearance available) from serum creatinine {cr} mg/dL on {cr_day}, "
            f"weight {weight} kg on {w_day}, age {age}, {sex}"
        )
    text = f"{full_zh}{value} {unit}（{day}）" if zh else f"{full_en} {value} {unit} on {day}"
    if "renal_other" in facts:
        _, o_en, o_unit, _, o_zh = _MEASURES[facts["renal_other_kind"]]
        o_value, o_day = fmt_num(facts["renal_other"], 1), fmt_date(facts["renal_other_date"], language)
        if zh:
            text += f"（取两者中较低者；{o_zh}为{o_value} {o_unit}，{o_day}）"
        else:
            text += f" (the lower of the two is used; {o_en} was {o_value} {o_unit} on {o_day})"
    return text


def _renal_short(facts: Mapping[str, Any], language: str) -> str:
    short_en, _, unit, short_zh, _ = _MEASURES[facts["renal_kind"]]
    short = short_zh if language == "zh" else short_en
    gap = " " if short[-1].isascii() else ""  # no space after a Chinese word
    return f"{short}{gap}{fmt_num(facts['renal'], 1)} {unit}"


def _mmol(value: float) -> str:
    """Calcium as laboratories report it: two decimals (2.60, not 2.6)."""
    return f"{value:.2f}"


def calcium_text(facts: Mapping[str, Any], language: str) -> str:
    """ "2.72 mmol/L on 2026-11-01 (albumin-corrected: measured 2.62 mmol/L, albumin 35 g/L the same day)"."""
    value, day = _mmol(facts["calcium"]), fmt_date(facts["calcium_date"], language)
    albumin = facts.get("calcium_albumin")
    measured = _mmol(facts["calcium_measured"])
    if language == "zh":
        how = (
            f"经白蛋白校正（实测{measured} mmol/L，同日白蛋白{fmt_num(albumin, 1)} g/L）"
            if albumin is not None
            else "为实测总钙（同日无白蛋白结果，未校正）"
        )
        return f"{value} mmol/L（{day}），{how}"
    how = (
        f"albumin-corrected: measured {measured} mmol/L, albumin {fmt_num(albumin, 1)} g/L the same day"
        if albumin is not None
        else "total calcium as measured; no albumin the same day to correct it"
    )
    return f"{value} mmol/L on {day} ({how})"


def _offer_delete(finding: Finding, language: str) -> list[str]:
    if not finding.delete_drafts:
        return []
    return [
        "本卡片提供删除该草稿医嘱的建议。"
        if language == "zh"
        else "The card offers to remove the draft order."
    ]


# --- bisphosphonate-renal-contraindication --------------------------------------------------------


def _contraindication(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    view = "ordered" in facts
    limit = fmt_num(facts["renal_threshold"], 1)
    low = fmt_num(facts["hypocalcaemia_renal_threshold"], 1)
    short = _renal_short(facts, language)
    applies = facts["renal"] < facts["hypocalcaemia_renal_threshold"] or facts["dialysis"]
    if language == "zh":
        summary = (
            f"正在使用双膦酸盐，但{short}低于{limit}，属禁忌，请评估"
            if view
            else f"肾功能低于{limit}禁用双膦酸盐：{short}"
        )
        kidney = f"**肾功能：**{renal_text(facts, language)}" + (
            "；病历记录正在透析" if facts["dialysis"] else ""
        )
        parts = [orders_line(facts, language), kidney, f"肌酐清除率<{limit} mL/min时禁用双膦酸盐。"]
        if view:
            parts[-1] += "请评估当前医嘱：停药，或请骨代谢/肾脏专科会诊。"
        parts.append(
            f"**替代方案：地舒单抗**无需根据肾功能调整剂量。但肌酐清除率<{low} mL/min或透析患者使用地舒单抗可发生"
            "严重低钙血症（说明书黑框警告）：用药前应检测血钙、血磷、甲状旁腺激素（PTH）及25-羟维生素D，"
            "纠正低钙血症和维生素D缺乏，并与骨代谢或肾脏专科医师共同制定治疗方案。"
        )
        if applies:
            parts.append(f"**该患者属于此情况**（肾功能低于{low}或正在透析）。")
    else:
        summary = (
            f"Active bisphosphonate is contraindicated: {short}, below {limit}; review"
            if view
            else f"Bisphosphonate contraindicated: {short} is below {limit}"
        )
        kidney = f"**Renal function:** {renal_text(facts, language)}" + (
            "; dialysis is on the problem list" if facts["dialysis"] else ""
        )
        parts = [
            orders_line(facts, language),
            kidney,
            f"Bisphosphonates are contraindicated when creatinine clearance is below {limit} mL/min.",
        ]
        if view:
            parts[-1] += " Review the active order: stop it, or seek advice from a bone or renal specialist."
        parts.append(
            "**Alternative: denosumab** needs no renal dose adjustment. However, with creatinine clearance "
            f"below {low} mL/min or on dialysis it can cause severe hypocalcaemia (boxed warning on the product "
            "label): before starting, check serum calcium, phosphate, PTH and 25-OH vitamin D, correct "
            "hypocalcaemia and vitamin D deficiency, and treat together with a bone or renal specialist."
        )
        if applies:
            parts.append(f"**This applies to this patient** (renal function below {low} or on dialysis).")
    parts += _offer_delete(finding, language)
    return Text(summary, "\n\n".join(parts))


# --- bisphosphonate-renal-function-unknown --------------------------------------------------------


def _last_renal(facts: Mapping[str, Any], language: str) -> str:
    if "last_renal_lab" not in facts or facts.get("last_renal_value") is None:
        return "无记录" if language == "zh" else "none on record"
    short_en, _, unit, short_zh, _ = _MEASURES[_LAB_KIND[facts["last_renal_lab"]]]
    value, day = fmt_num(facts["last_renal_value"], 2), fmt_date(facts["last_renal_date"], language)
    return (
        f"{short_zh} {value} {unit}（{day}）" if language == "zh" else f"{short_en} {value} {unit} on {day}"
    )


def _renal_unknown(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    window, iv = facts["window_days"], facts["iv"]
    last = _last_renal(facts, language)
    limit = fmt_num(facts["renal_threshold"], 1)
    if language == "zh":
        summary = (
            f"近{window}天无肾功能结果：静脉双膦酸盐每次给药前需检查血肌酐"
            if iv
            else f"近{window}天无肾功能结果：使用双膦酸盐前请检查血肌酐/eGFR"
        )
        status = (
            f"近{window}天内无eGFR或肌酐清除率结果，也无法按Cockcroft-Gault公式估算肌酐清除率（需要该期间的血肌酐"
            f"和体重，以及年龄和性别）。最近一次肾功能检查：{last}。"
        )
        if facts["dialysis"]:
            status += "病历记录正在透析。"
        advice = f"肌酐清除率<{limit} mL/min时禁用双膦酸盐，因此用药前必须了解肾功能；治疗期间建议每6-12个月监测肾功能。"
        if iv:
            advice += "静脉唑来膦酸和伊班膦酸钠说明书要求每次给药前检查血肌酐。"
        offer = "本卡片提供开具血肌酐及eGFR检查的建议。"
    else:
        summary = (
            f"No renal function in the last {window} days: check creatinine before each IV bisphosphonate dose"
            if iv
            else f"No renal function in the last {window} days: check creatinine/eGFR before a bisphosphonate"
        )
        status = (
            f"No eGFR or creatinine clearance in the last {window} days, and creatinine clearance could not be "
            "estimated by Cockcroft–Gault (it needs a serum creatinine and a body weight from that period, with "
            f"age and sex). Last kidney test on record: {last}."
        )
        if facts["dialysis"]:
            status += " Dialysis is on the problem list."
        advice = (
            f"Bisphosphonates are contraindicated when creatinine clearance is below {limit} mL/min, so renal function "
            "must be known before prescribing; on treatment, monitor it every 6–12 months."
        )
        if iv:
            advice += (
                " For intravenous zoledronic acid and ibandronate, the product label asks for a serum "
                "creatinine before each dose."
            )
        offer = "The card offers an order for serum creatinine with eGFR."
    return Text(summary, "\n\n".join([orders_line(facts, language), status, advice, offer]))


# --- pre-infusion-calcium-check -------------------------------------------------------------------


def _drug_word(facts: Mapping[str, Any], language: str) -> str:
    both = facts["zoledronic_acid"] and facts["denosumab"]
    if language == "zh":
        return "唑来膦酸或地舒单抗" if both else ("唑来膦酸" if facts["zoledronic_acid"] else "地舒单抗")
    return (
        "zoledronic acid or denosumab"
        if both
        else ("zoledronic acid" if facts["zoledronic_acid"] else "denosumab")
    )


def _pre_infusion_summary(facts: Mapping[str, Any], language: str) -> str:
    reasons, drug = facts["reasons"], _drug_word(facts, language)
    zh = language == "zh"
    ca = _mmol(facts["calcium"]) if "calcium" in facts else ""
    vd = fmt_num(facts["vitamin_d"], 1) if "vitamin_d" in facts else ""
    if "calcium-low" in reasons and "vitamin-d-low" in reasons:
        if zh:
            return f"血清钙{ca} mmol/L及25-羟维生素D {vd} ng/mL偏低：使用{drug}前请先纠正"
        return f"Serum calcium {ca} mmol/L and 25-OH vitamin D {vd} ng/mL are low: correct before {drug}"
    if "calcium-low" in reasons:
        return (
            f"血清钙{ca} mmol/L偏低：使用{drug}前请先纠正"
            if zh
            else f"Serum calcium {ca} mmol/L is low: correct it before {drug}"
        )
    if "calcium-missing" in reasons:
        window = facts["calcium_window_days"]
        return (
            f"近{window}天无血清钙结果：使用{drug}前请先检测"
            if zh
            else f"No serum calcium in the last {window} days: check it before {drug}"
        )
    return (
        f"25-羟维生素D {vd} ng/mL偏低：使用{drug}前请先补充"
        if zh
        else f"25-OH vitamin D {vd} ng/mL is low: replete it before {drug}"
    )


def _calcium_line(facts: Mapping[str, Any], language: str) -> str:
    zh = language == "zh"
    head = "**血清钙：**" if zh else "**Serum calcium:** "
    low = _mmol(facts["low_calcium"])
    if "calcium" in facts:
        text = calcium_text(facts, language)
        if "calcium-low" in facts["reasons"]:
            text += f"，低于{low} mmol/L" if zh else f", below {low} mmol/L"
        return head + text
    window = facts["calcium_window_days"]
    if "last_calcium" in facts:
        value, day = _mmol(facts["last_calcium"]), fmt_date(facts["last_calcium_date"], language)
        last = f"（最近一次：{value} mmol/L，{day}）" if zh else f" (last: {value} mmol/L on {day})"
    else:
        last = "（无任何记录）" if zh else " (none on record)"
    return head + (f"近{window}天内无结果{last}" if zh else f"none in the last {window} days{last}")


def _vitamin_d_line(facts: Mapping[str, Any], language: str) -> str:
    zh = language == "zh"
    head = "**25-羟维生素D：**" if zh else "**25-OH vitamin D:** "
    if "vitamin_d" not in facts:
        window = facts["vitamin_d_window_days"]
        return head + (f"近{window}天内无结果" if zh else f"none in the last {window} days")
    value, day = fmt_num(facts["vitamin_d"], 1), fmt_date(facts["vitamin_d_date"], language)
    text = f"{value} ng/mL（{day}）" if zh else f"{value} ng/mL on {day}"
    limit = fmt_num(facts["vitamin_d_threshold"], 1)
    if "vitamin-d-low" in facts["reasons"]:
        text += (
            f"，低于{limit} ng/mL，且未在使用普通维生素D（胆骨化醇或麦角骨化醇）"
            if zh
            else f", below {limit} ng/mL, and no native vitamin D (cholecalciferol or ergocalciferol) is active"
        )
    elif facts["native_vitamin_d"] and facts["vitamin_d"] < facts["vitamin_d_threshold"]:
        text += "，正在补充普通维生素D" if zh else ", native vitamin D is already prescribed"
    return head + text


def _pre_infusion(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    zh = language == "zh"
    advice: list[str] = []
    if zh:
        advice.append("- 给药前检测血钙，并先纠正低钙血症和维生素D缺乏")
        if facts["first_zoledronic_acid"]:
            advice.append(
                "- 病历中无唑来膦酸用药史，本次为首次输注：告知患者输注后数日内可能出现急性期反应（类流感样症状），输注前后充分水化，必要时使用对乙酰氨基酚"
            )
        if facts["first_antiresorptive"]:
            advice.append(
                "- 病历中无双膦酸盐或地舒单抗用药史，本次为首次抗骨吸收治疗：用药前请安排口腔检查（预防颌骨坏死）"
            )
        offer = (
            "本卡片提供开具血清钙"
            + ("及25-羟维生素D" if len(finding.lab_orders) > 1 else "")
            + "检查的建议。"
        )
    else:
        advice.append(
            "- Check serum calcium before the dose, and correct hypocalcaemia and vitamin D deficiency first"
        )
        if facts["first_zoledronic_acid"]:
            advice.append(
                "- No zoledronic acid on record, so this is the first infusion: warn about the acute-phase "
                "(flu-like) reaction in the days after it; hydrate well and use paracetamol if needed"
            )
        if facts["first_antiresorptive"]:
            advice.append(
                "- No bisphosphonate or denosumab on record, so this is the first antiresorptive: arrange a "
                "dental check before it (osteonecrosis of the jaw)"
            )
        offer = "The card offers an order for serum calcium" + (
            " and 25-OH vitamin D." if len(finding.lab_orders) > 1 else "."
        )
    parts = [
        orders_line(facts, language),
        _calcium_line(facts, language) + "\n\n" + _vitamin_d_line(facts, language),
        "\n".join(advice),
        offer,
    ]
    return Text(_pre_infusion_summary(facts, language), "\n\n".join(parts))


# --- anabolic-duration-limit ----------------------------------------------------------------------


def _anabolic(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    view = "ordered" in facts
    days, limit = facts["days"], facts["limit_days"]
    months = int(days / 30.4375)  # average month length, for a readable approximation
    first = fmt_date(facts["first_date"], language)
    if language == "zh":
        summary = f"促骨形成药物自{first}起已约{months}个月，疗程有限" + ("，请规划后续治疗" if view else "")
        parts = [
            orders_line(facts, language),
            f"**首次促骨形成药物记录：**{facts['first_drug']}（{first}），距今{days}天（约{months}个月）；"
            f"本服务设定的上限为{limit}天。",
            "促骨形成药物（特立帕肽、阿巴洛肽）的疗程有限，需重点关注用药时长。上限为可配置项，应遵循药品说明书及当地规定；"
            "自首次记录的用药日期起计算，中间停药时间未扣除。",
            "促骨形成治疗结束后，应序贯抗骨吸收药物（双膦酸盐或地舒单抗）以维持骨量获益（临床实践，非综述内容）。",
        ]
    else:
        summary = (
            f"On anabolic therapy since {first} (about {months} months): duration is limited; plan what follows"
            if view
            else f"Anabolic therapy began {first} (about {months} months ago): treatment duration is limited"
        )
        parts = [
            orders_line(facts, language),
            f"**First anabolic dose on record:** {facts['first_drug']} on {first}, {days} days ago (about "
            f"{months} months); the limit set for this service is {limit} days.",
            "The duration of anabolic therapy (teriparatide, abaloparatide) is limited and must be watched. The "
            "limit is a setting that follows the product label and local rules; it is counted from the first "
            "recorded dose, without subtracting breaks in treatment.",
            "After the anabolic course, continue with an antiresorptive (a bisphosphonate or denosumab) to keep "
            "the bone gained (practice, not in the seeds).",
        ]
    parts += _offer_delete(finding, language)
    return Text(summary, "\n\n".join(parts))


# --- hypercalcemia-on-therapy ---------------------------------------------------------------------


def _hypercalcaemia(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    severe = finding.indicator is Indicator.CRITICAL
    value = _mmol(facts["calcium"])
    limit, severe_limit = _mmol(facts["threshold"]), _mmol(facts["severe_threshold"])
    if language == "zh":
        summary = (
            f"严重高钙血症（血清钙{value} mmol/L），正在补钙、维生素D或促骨形成治疗：请立即评估"
            if severe
            else f"补钙、维生素D或促骨形成治疗中血清钙{value} mmol/L升高：请减量并评估"
        )
        calcium = f"**血清钙：**{calcium_text(facts, language)}，高于{limit} mmol/L"
        if severe:
            calcium += f"（高于{severe_limit} mmol/L，属严重高钙血症）"
        advice = ["- 首先减少钙剂和维生素D补充剂量"]
        if facts["anabolic"]:
            advice.append(
                "- 使用特立帕肽或阿巴洛肽者：于末次注射至少16小时后复查血钙确认；若高钙血症持续，停用促骨形成药物并检测甲状旁腺激素（PTH）"
            )
        if severe:
            advice.append(f"- 血钙高于{severe_limit} mmol/L需尽快临床评估（临床实践，非综述内容）")
    else:
        summary = (
            f"Severe hypercalcaemia ({value} mmol/L) on calcium, vitamin D or anabolic therapy: assess promptly"
            if severe
            else f"Serum calcium {value} mmol/L is high on calcium, vitamin D or anabolic therapy: review doses"
        )
        calcium = f"**Serum calcium:** {calcium_text(facts, language)}, above {limit} mmol/L"
        if severe:
            calcium += f" (above {severe_limit} mmol/L: severe)"
        advice = ["- Reduce calcium and vitamin D supplements first"]
        if facts["anabolic"]:
            advice.append(
                "- On teriparatide or abaloparatide: confirm with a blood sample taken at least 16 hours after "
                "the last injection; if hypercalcaemia persists, stop the anabolic drug and check PTH"
            )
        if severe:
            advice.append(
                f"- Calcium above {severe_limit} mmol/L needs prompt clinical assessment (practice, not in the seeds)"
            )
    parts = [calcium, orders_line(facts, language), "\n".join(advice)]
    return Text(summary, "\n\n".join(parts))


WORDING: dict[Topic, Wording] = {
    Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION: Wording(
        title_en="Bisphosphonate with reduced renal function",
        title_zh="肾功能不全时禁用双膦酸盐",
        citations=(
            Citation(
                T2DM,
                ("3",),
                extra_en="denosumab boxed warning on severe hypocalcaemia: the product label",
                extra_zh="地舒单抗严重低钙血症黑框警告：药品说明书",
            ),
        ),
        compose=_contraindication,
    ),
    Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN: Wording(
        title_en="Renal function needed before a bisphosphonate",
        title_zh="双膦酸盐用药前需评估肾功能",
        citations=(
            Citation(
                T2DM,
                ("3",),
                extra_en="creatinine before each IV dose: the product labels",
                extra_zh="静脉给药前检查血肌酐：药品说明书",
            ),
        ),
        compose=_renal_unknown,
    ),
    Topic.PRE_INFUSION_CALCIUM_CHECK: Wording(
        title_en="Calcium and vitamin D before zoledronic acid or denosumab",
        title_zh="唑来膦酸或地舒单抗用药前的血钙与维生素D评估",
        citations=(
            Citation(
                T2DM,
                ("3",),
                extra_en="zoledronic acid: Zeng F et al., cited there; denosumab: the product label",
                extra_zh="唑来膦酸：文中引用的曾芳等研究；地舒单抗：药品说明书",
            ),
        ),
        compose=_pre_infusion,
    ),
    Topic.ANABOLIC_DURATION_LIMIT: Wording(
        title_en="Duration limit of anabolic bone therapy",
        title_zh="促骨形成药物疗程上限",
        citations=(
            Citation(
                T2DM,
                ("3",),
                extra_en="follow-on antiresorptive: practice, not in the seeds",
                extra_zh="序贯抗骨吸收治疗：临床实践，非综述内容",
            ),
        ),
        compose=_anabolic,
    ),
    Topic.HYPERCALCEMIA_ON_THERAPY: Wording(
        title_en="Hypercalcaemia on calcium, vitamin D or anabolic therapy",
        title_zh="补钙、维生素D或促骨形成治疗中的高钙血症",
        citations=(
            Citation(
                T2DM,
                ("2.3", "3"),
                extra_en="16-hour sample after teriparatide or abaloparatide: the product labels",
                extra_zh="特立帕肽或阿巴洛肽注射后16小时采血：药品说明书",
            ),
        ),
        compose=_hypercalcaemia,
    ),
}
