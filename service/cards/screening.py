"""Card wording of the screening rules (rules.md "Patient-view rules"), in English and Chinese.

Each ``_compose_*`` reads the finding's facts (documented on the rule in ``service.rules.screening``)
and quotes the patient's own values and dates; the seed citation is appended by the card assembly.
"""

from __future__ import annotations

from typing import Any

from service.cards._screening_phrases import floor1, fragility_reasons, population, span, whole, zh
from service.cards._wording import OB, T2DM, Citation, Text, Wording, fmt_date, fmt_num
from service.kernel.findings import Finding, Topic
from service.kernel.record import Measurement, PatientRecord, Sex
from service.kernel.thresholds import PopulationProfile
from service.rules.definitions import BoneFragility, RenalFunction
from service.rules.screening import HYPOGLYCAEMIA, LONG_DURATION, NEUROPATHY, Phenotype

NMOL_PER_NG = 2.496  # 25-OH vitamin D: 1 ng/mL = 2.496 nmol/L (rules.md)


# --- diabetic-fracture-risk-phenotype -------------------------------------------------------------


def _phenotype_short(p: Phenotype, language: str) -> str:
    if p.kind is LONG_DURATION:
        return f"病程{p.years}年" if zh(language) else f"diabetes {p.years} years"
    if p.kind is NEUROPATHY:
        return "神经病变" if zh(language) else "neuropathy"
    if p.kind is HYPOGLYCAEMIA:
        return "低血糖史" if zh(language) else "past hypoglycaemia"
    if zh(language):
        return "糖尿病肾病" if p.diabetic else "慢性肾脏病"
    return "kidney disease"


def _phenotype_line(p: Phenotype, renal: RenalFunction | None, language: str) -> str:
    when = fmt_date(p.since, language)
    if p.kind is LONG_DURATION:
        return (
            f"糖尿病病程 {p.years} 年(起病于 {when})"
            if zh(language)
            else f"diabetes for {p.years} years (since {when})"
        )
    if p.kind is NEUROPATHY:
        return f"糖尿病神经病变(记录于 {when})" if zh(language) else f"diabetic neuropathy (recorded {when})"
    if p.kind is HYPOGLYCAEMIA:
        return (
            f"既往低血糖史(最近记录 {when})"
            if zh(language)
            else f"history of hypoglycaemia (last recorded {when})"
        )
    if zh(language):
        name = "糖尿病肾病" if p.diabetic else "2型糖尿病合并慢性肾脏病"
        egfr = f";eGFR {whole(renal.value)} mL/min/1.73 m²({fmt_date(renal.at, language)})" if renal else ""
        return f"{name}(记录于 {when}{egfr})"
    name = "diabetic kidney disease" if p.diabetic else "chronic kidney disease with type 2 diabetes"
    egfr = f"; eGFR {whole(renal.value)} mL/min/1.73 m² on {fmt_date(renal.at, language)}" if renal else ""
    return f"{name} (recorded {when}{egfr})"


def _compose_phenotype(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    phenotypes: tuple[Phenotype, ...] = facts["phenotypes"]
    renal: RenalFunction | None = facts["egfr"]
    last_bmd: Measurement | None = facts["last_bmd"]
    window = span(int(facts["window_days"]), language)
    lines = "\n".join(f"- {_phenotype_line(p, renal, language)}" for p in phenotypes)
    last = fmt_date(last_bmd.at if last_bmd else None, language)
    if zh(language):
        short = "、".join(_phenotype_short(p, language) for p in phenotypes)
        summary = f"2型糖尿病伴骨折高风险表型({short}),近{window}未测骨密度:建议DXA检查"
        detail = (
            f"**2型糖尿病伴以下骨折高风险表型:**\n{lines}\n\n"
            f"近{window}无骨密度(DXA)结果(上次:{last})。\n\n"
            "2型糖尿病患者即使骨密度正常,骨折风险仍显著升高,主要源于骨质量下降和骨微结构损伤,"
            "**仅凭骨密度会低估骨折风险**。评估骨折风险时应结合病程、低血糖、神经病变及肾功能等临床因素。"
            "建议行双能X线骨密度检查(DXA)作为基线,并据此综合评估。\n\n"
            "本卡片提供:开具DXA骨密度检查。"
        )
        return Text(summary, detail)
    short = ", ".join(_phenotype_short(p, language) for p in phenotypes)
    summary = f"Fracture risk high in type 2 diabetes ({short}); no bone density scan in {window}"
    if len(summary) >= 140:
        summary = (
            f"Fracture risk high in type 2 diabetes ({len(phenotypes)} risk features); no DXA in {window}"
        )
    detail = (
        f"**Type 2 diabetes with features that raise fracture risk:**\n{lines}\n\n"
        f"No bone density (DXA) result in the past {window} (last: {last}).\n\n"
        "In type 2 diabetes fracture risk is raised even when bone density is normal, because bone quality "
        "and microarchitecture suffer: **bone density alone underestimates fracture risk**. Weigh diabetes "
        "duration, hypoglycaemia, neuropathy and kidney function alongside it, and obtain a DXA scan as a "
        "baseline.\n\n"
        "This card offers: an order for a DXA bone density scan."
    )
    return Text(summary, detail)


# --- fall-risk-assessment-due ---------------------------------------------------------------------

_FALL_ITEMS = (
    ("foot sensation with the 10 g monofilament", "足部感觉检查(10 g 单丝)"),
    ("peripheral neuropathy assessment", "周围神经病变评估"),
    ("vision and cataract screening", "视力与白内障筛查"),
    ("history of hypoglycaemia", "低血糖史记录"),
    ("Timed Up and Go (TUG) test", "“起立-行走”计时测试(TUG)"),
    ("home safety (rugs, door thresholds, lighting)", "居家环境安全评估(地毯、门槛、照明等)"),
)


def _compose_fall_risk(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    fragility: BoneFragility = facts["fragility"]
    reasons = fragility_reasons(fragility, facts["fragility_drug"], language)
    last: Measurement | None = facts["last_assessment"]
    when = fmt_date(last.at if last else None, language)
    window = span(int(facts["window_days"]), language)
    if zh(language):
        items = "\n".join(f"- {cn}" for _, cn in _FALL_ITEMS)
        summary = f"2型糖尿病合并骨质疏松,跌倒易致骨折:近{window}未做跌倒风险评估"
        detail = (
            f"2型糖尿病合并骨脆性增加:{reasons}。\n\n"
            f"近{window}无跌倒风险评估(上次:{when})。\n\n"
            f"**建议进行系统的跌倒风险评估:**\n{items}\n\n"
            "标准化跌倒筛查可显著降低髋部骨折发生率。\n\n"
            "本卡片提供:开具跌倒风险评估。"
        )
        return Text(summary, detail)
    items = "\n".join(f"- {en}" for en, _ in _FALL_ITEMS)
    summary = f"Falls cause fractures in diabetes with osteoporosis: no fall-risk assessment in {window}"
    detail = (
        f"Type 2 diabetes with bone fragility: {reasons}.\n\n"
        f"No fall-risk assessment in the past {window} (last: {when}).\n\n"
        f"**Screen systematically for fall risk:**\n{items}\n\n"
        "Standardised fall screening markedly lowers the rate of hip fracture.\n\n"
        "This card offers: an order for a fall-risk assessment."
    )
    return Text(summary, detail)


# --- obesity-bone-assessment ----------------------------------------------------------------------


def _profile_name(profile: PopulationProfile, language: str) -> str:
    if profile is PopulationProfile.CN:
        return "中国成人标准" if zh(language) else "China's adult standard"
    return "世界卫生组织(WHO)标准" if zh(language) else "WHO standard"


def _obesity_lines(facts: Any, record: PatientRecord, language: str) -> list[str]:
    lines: list[str] = []
    bmi: Measurement | None = facts["bmi"]
    if bmi is not None and bmi.value is not None:
        value, when, limit = floor1(bmi.value), fmt_date(bmi.at, language), fmt_num(facts["bmi_threshold"], 1)
        if zh(language):
            verdict = f"达到肥胖标准 ≥ {limit}" if facts["bmi_met"] else f"低于肥胖标准 {limit}"
            lines.append(f"BMI {value} kg/m²({when},{verdict})")
        else:
            verdict = f"obesity: ≥ {limit}" if facts["bmi_met"] else f"below the obesity threshold of {limit}"
            lines.append(f"BMI {value} kg/m² on {when} ({verdict})")
    waist: Measurement | None = facts["waist"]
    limit_cm = facts["waist_threshold"]
    if waist is not None and waist.value is not None and limit_cm is not None:
        value, when, limit = floor1(waist.value), fmt_date(waist.at, language), fmt_num(limit_cm, 1)
        female = record.patient.sex is Sex.FEMALE
        if zh(language):
            who = "女性" if female else "男性"
            verdict = f"中心性肥胖:{who} ≥ {limit} cm" if facts["waist_met"] else f"低于{who}标准 {limit} cm"
            lines.append(f"腰围 {value} cm({when},{verdict})")
        else:
            who = "women" if female else "men"
            verdict = (
                f"central obesity: ≥ {limit} cm for {who}"
                if facts["waist_met"]
                else f"below the {limit} cm threshold for {who}"
            )
            lines.append(f"waist {value} cm on {when} ({verdict})")
    return lines


def _compose_obesity(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    bmi: Measurement | None = facts["bmi"]
    who = population(facts["t2dm"], facts["fragility"], facts["fragility_drug"], language)
    profile = _profile_name(facts["profile"], language)
    lines = "\n".join(f"- {line}" for line in _obesity_lines(facts, record, language))
    if facts["bmi_met"] and bmi is not None and bmi.value is not None:
        measure_en, measure_zh = f"BMI {floor1(bmi.value)}", f"BMI {floor1(bmi.value)}"
    else:
        waist: Measurement = facts["waist"]
        measure_en, measure_zh = (
            f"waist {floor1(waist.value or 0.0)} cm",
            f"腰围 {floor1(waist.value or 0.0)} cm",
        )
    if zh(language):
        summary = f"肥胖({measure_zh})不能预防骨折,骨密度可能高估骨强度:需综合评估骨骼健康"
        detail = (
            f"**{who}患者存在肥胖**(按{profile}):\n{lines}\n\n"
            "肥胖并不能预防骨折,且肥胖者的骨密度可能高估其骨强度,不能因骨密度正常而放松骨折风险评估。\n\n"
            "**建议:**\n"
            "- 体重管理:将 BMI 控制在 20–24 kg/m²(T2DM §2.1);BMI 23–24.9 kg/m² 时骨质疏松风险最低(OB §5)\n"
            "- 减重时注意保护骨量:利拉鲁肽在减重同时保存了骨量(OB §4),GLP-1受体激动剂对骨骼无不良影响"
            "(T2DM §2.2)\n"
            "- 运动采用抗阻、平衡及有氧复合模式(T2DM §2.1)"
        )
        return Text(summary, detail)
    summary = (
        f"Obesity ({measure_en}) does not protect against fracture; bone density may overstate bone strength"
    )
    detail = (
        f"**Obesity in a patient with {who}** ({profile}):\n{lines}\n\n"
        "Obesity does not protect against fracture, and in obesity bone density can overstate bone "
        "strength: a normal DXA result does not rule out fracture risk.\n\n"
        "**Recommendations:**\n"
        "- weight management toward a BMI of 20–24 kg/m² (T2DM §2.1); the lowest osteoporosis risk is at "
        "a BMI of 23–24.9 kg/m² (OB §5)\n"
        "- protect bone during weight loss: liraglutide preserved bone mass during weight loss (OB §4), and "
        "GLP-1 receptor agonists are bone-neutral (T2DM §2.2)\n"
        "- combine resistance, balance and aerobic exercise (T2DM §2.1)"
    )
    return Text(summary, detail)


# --- vitamin-d-deficiency -------------------------------------------------------------------------


def _compose_vitamin_d(finding: Finding, record: PatientRecord, language: str) -> Text:
    facts = finding.facts
    level: Measurement = facts["vitamin_d"]
    value = level.value or 0.0
    ng, nmol = fmt_num(value, 1), whole(value * NMOL_PER_NG)
    limit = float(facts["threshold"])
    limit_ng, limit_nmol = fmt_num(limit, 1), whole(limit * NMOL_PER_NG)
    when = fmt_date(level.at, language)
    who = population(facts["t2dm"], facts["fragility"], facts["fragility_drug"], language)
    active_d: tuple[str, ...] = facts["active_vitamin_d"]
    calcium: bool = facts["calcium_supplement"]
    if zh(language):
        notes = ""
        if active_d:
            notes += f"当前使用的{'、'.join(active_d)}为活性维生素D,不能提高25-羟维生素D水平。\n\n"
        if calcium:
            notes += "已在使用钙剂:需同时补充普通维生素D。\n\n"
        summary = f"维生素D缺乏(25-羟维生素D {ng} ng/mL),未补充普通维生素D:建议补充维生素D和钙"
        detail = (
            f"{who}患者 25-羟维生素D {ng} ng/mL({nmol} nmol/L,{when}),"
            f"低于 {limit_ng} ng/mL({limit_nmol} nmol/L)。\n\n"
            "当前无普通维生素D(胆钙化醇/维生素D3 或 麦角钙化醇/维生素D2)医嘱。\n\n"
            f"{notes}"
            "**建议:**补充维生素D并同时补钙(钙与维生素D复合制剂可提高依从性),剂量结合年龄、肾功能、"
            "血清钙及25-羟维生素D水平制定;补充后复查25-羟维生素D,并定期监测血清钙、磷和甲状旁腺激素(PTH),"
            "避免高钙血症。"
        )
        return Text(summary, detail)
    notes = ""
    if active_d:
        notes += (
            f"The active {', '.join(active_d)} is an active vitamin D: it does not raise 25-OH vitamin D.\n\n"
        )
    if calcium:
        notes += "A calcium supplement is already active: add native vitamin D to it.\n\n"
    summary = (
        f"Vitamin D deficiency (25-OH vitamin D {ng} ng/mL) and no cholecalciferol: replete with calcium"
    )
    detail = (
        f"25-OH vitamin D {ng} ng/mL ({nmol} nmol/L) on {when}, below {limit_ng} ng/mL "
        f"({limit_nmol} nmol/L), in a patient with {who}.\n\n"
        "No native vitamin D (cholecalciferol or ergocalciferol) is active.\n\n"
        f"{notes}"
        "**Recommendation:** replete vitamin D together with calcium (a combined calcium–vitamin D "
        "preparation helps adherence), dosed for age, kidney function, serum calcium and 25-OH vitamin D; "
        "recheck 25-OH vitamin D after repletion, and monitor serum calcium, phosphate and PTH to avoid "
        "hypercalcaemia."
    )
    return Text(summary, detail)


WORDING: dict[Topic, Wording] = {
    Topic.DIABETIC_FRACTURE_RISK_PHENOTYPE: Wording(
        title_en="Type 2 diabetes phenotype with high fracture risk",
        title_zh="2型糖尿病骨折高风险表型",
        citations=(Citation(T2DM, ("1.4",)),),
        compose=_compose_phenotype,
    ),
    Topic.FALL_RISK_ASSESSMENT_DUE: Wording(
        title_en="Fall-risk assessment due",
        title_zh="需进行跌倒风险评估",
        citations=(Citation(T2DM, ("2.1",)),),
        compose=_compose_fall_risk,
    ),
    Topic.OBESITY_BONE_ASSESSMENT: Wording(
        title_en="Obesity and bone health",
        title_zh="肥胖与骨骼健康评估",
        citations=(
            Citation(T2DM, ("2.1", "2.2")),
            Citation(
                OB,
                ("1", "4", "5"),
                extra_en="waist cut-offs: China's adult standard or WHO (practice, not in the seeds)",
                extra_zh="腰围切点:中国成人标准或WHO标准(临床实践,非综述内容)",
            ),
        ),
        compose=_compose_obesity,
    ),
    Topic.VITAMIN_D_DEFICIENCY: Wording(
        title_en="Vitamin D deficiency",
        title_zh="维生素D缺乏",
        citations=(
            Citation(
                T2DM,
                ("2.3",),
                extra_en="the 20 ng/mL (50 nmol/L) threshold is practice, not in the seeds",
                extra_zh="20 ng/mL(50 nmol/L)切点来自临床实践,非综述内容",
            ),
        ),
        compose=_compose_vitamin_d,
    ),
}
