"""The clinicians' rule pages: every topic, both languages, the running thresholds, no token needed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.cards import phrases, topic_text
from service.kernel.findings import Topic
from service.reference import build
from service.rule_pages import examples, value_set
from service.rule_pages._markdown import to_html
from service.settings import Settings
from tools.rule_page_examples import OUT, dumps, generate

REPO = Path(__file__).resolve().parents[2]
TOPICS = [t.value for t in Topic]
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture
def client(app_factory: Callable[..., TestClient]) -> TestClient:
    return app_factory()


def test_the_index_lists_every_topic_with_its_code_title_hooks_and_trigger(client: TestClient) -> None:
    response = client.get("/rules")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for ref in build(Settings(_env_file=None)):
        code = ref.topic.value
        assert f'href="/rules/{code}?lang=en"' in page, code
        assert f"<code>{code}</code>" in page
        assert topic_text(code, "en").title.replace("&", "&amp;") in page
        assert ", ".join(ref.hooks) in page
        first = ref.triggers[0].partition(": ")[2]
        assert _html_text(first).replace("``", "") in page.replace("<code>", "").replace("</code>", ""), code


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_page_shows_thresholds_source_codes_and_an_example(
    client: TestClient, topic: str, lang: str
) -> None:
    response = client.get(f"/rules/{topic}", params={"lang": lang})
    assert response.status_code == 200
    page = response.text
    (ref,) = [r for r in build(Settings(_env_file=None)) if r.topic.value == topic]
    assert f"<h1>{_html_text(topic_text(topic, lang).title)}</h1>" in page
    for name, value in ref.settings.items():
        assert f'data-setting="{name}">{value}<' in page, name
        assert f"BHCDS_RULES__{name.upper()}" in page
    p = phrases(lang)
    for source in topic_text(topic, lang).sources:
        assert _html_text(p.source_label(source)) in page
        url = p.source_url(source)
        if url:
            assert f'<a class="doi" href="{url}">' in page
    for name in ref.value_sets:
        assert f'id="vs-{name}"' in page
        for concept in value_set(name)["expansion"]["contains"]:
            assert f"<code>{_html_text(concept['code'])}</code>" in page, (name, concept["code"])
    assert '<article class="card ' in page
    for card in examples()[topic][lang]:
        assert _html_text(card["summary"]) in page
        assert f'<span class="badge {card["indicator"]}">' in page
        for label in card["suggestions"]:
            assert f'<button type="button" disabled>{_html_text(label)}</button>' in page


def test_the_doi_is_a_link_on_the_pages_of_topics_citing_the_t2dm_review(client: TestClient) -> None:
    page = client.get("/rules/tzd-fracture-risk").text
    assert '<a class="doi" href="https://doi.org/10.12208/j.ijcr.20250542">' in page


def test_the_thresholds_shown_are_the_running_settings_not_the_defaults(
    app_factory: Callable[..., TestClient],
) -> None:
    default = app_factory().get("/rules/sglt2-fracture-caution").text
    assert 'data-setting="sglt2_egfr_threshold">60.0<' in default
    changed = app_factory(rules={"sglt2_egfr_threshold": 45, "renal_function_window_days": 400})
    page = changed.get("/rules/sglt2-fracture-caution").text
    assert 'data-setting="sglt2_egfr_threshold">45.0<' in page
    assert "60.0<" not in page
    renal = changed.get("/rules/bisphosphonate-renal-contraindication", params={"lang": "zh"}).text
    assert 'data-setting="renal_function_window_days">400<' in renal


def test_an_unknown_topic_is_a_404_html_page_in_the_asked_language(client: TestClient) -> None:
    response = client.get("/rules/no-such-rule")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<code>no-such-rule</code>" in response.text and "No such rule" in response.text
    zh = client.get("/rules/no-such-rule", params={"lang": "zh"})
    assert zh.status_code == 404 and "未找到该规则" in zh.text
    escaped = client.get("/rules/%3Cscript%3E")
    assert escaped.status_code == 404 and "<script>" not in escaped.text


def test_the_pages_need_no_token_when_auth_is_on(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, auth_enabled=True, database_url=f"sqlite:///{tmp_path}/auth.db")
    with TestClient(create_app(settings)) as secured:
        refused = secured.post("/cds-services/bone-health-order-select", json={})
        assert refused.status_code == 401  # the hooks still need the JWT
        assert secured.get("/rules").status_code == 200
        assert secured.get("/rules/tzd-fracture-risk").status_code == 200
        assert secured.get("/rules/static/style.css").status_code == 200


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"lang": "zh"}, {}),
        ({}, {"Accept-Language": "zh-TW"}),
        ({}, {"Accept-Language": "zh-Hant-HK, en;q=0.5"}),
        ({"lang": "zh-CN"}, {"Accept-Language": "en"}),
    ],
    ids=["?lang=zh", "zh-TW", "zh-Hant-HK", "?lang= beats the header"],
)
def test_chinese_by_query_or_accept_language(
    client: TestClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    for path in ("/rules", "/rules/tzd-fracture-risk"):
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200
        assert '<html lang="zh-Hans">' in response.text
        assert response.headers["content-language"] == "zh-Hans"
    assert "骨健康规则" in client.get("/rules", params=params, headers=headers).text
    topic = client.get("/rules/tzd-fracture-risk", params=params, headers=headers).text
    assert topic_text("tzd-fracture-risk", "zh").title in topic
    assert "当前生效的阈值与时间窗" in topic or "此规则不使用可调的阈值或时间窗" in topic


def test_english_by_default_and_for_other_languages(client: TestClient) -> None:
    for headers in ({}, {"Accept-Language": "de-DE, zh;q=0.1"}):
        page = client.get("/rules", headers=headers).text
        assert '<html lang="en">' in page and "Bone health rules" in page
    assert (
        '<html lang="en">'
        in client.get("/rules", params={"lang": "en"}, headers={"Accept-Language": "zh"}).text
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_links_between_pages_keep_the_language_and_every_page_can_switch(
    client: TestClient, lang: str
) -> None:
    other = "zh" if lang == "en" else "en"
    for path in ("/rules", "/rules/denosumab-dose-due", "/rules/no-such-rule"):
        page = client.get(path, params={"lang": lang}).text
        internal = [h for h in HREF.findall(page) if h.startswith("/rules") and not h.endswith(".css")]
        switch = [h for h in internal if h.endswith(f"lang={other}")]
        assert len(switch) == 1, (path, internal)
        assert all(h.endswith(f"?lang={lang}") for h in internal if h not in switch), (path, internal)
    index = client.get("/rules", params={"lang": lang}).text
    for link in (h for h in HREF.findall(index) if h.startswith("/rules/") and not h.endswith(".css")):
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_every_card_link_from_a_real_hook_call_opens_its_page(client: TestClient) -> None:
    seen: set[str] = set()
    for request in sorted((REPO / "examples").glob("*.json")):
        if request.name.endswith(".cards.json"):
            continue
        documented = json.loads(request.with_suffix("").with_suffix(".cards.json").read_text())
        response = client.post(
            f"/cds-services/{documented['service']}",
            json=json.loads(request.read_text()),
            headers={"Accept-Language": documented.get("language", "en")},
        )
        assert response.status_code == 200, response.text
        for card in response.json()["cards"]:
            url = urlsplit(card["links"][0]["url"])
            assert url.path == f"/rules/{card['source']['topic']['code']}"
            page = client.get(url.path, headers={"Accept-Language": documented.get("language", "en")})
            assert page.status_code == 200, url.path
            seen.add(url.path)
    assert len(seen) >= 3, seen


def test_the_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/rules/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "@media" in response.text  # narrow screens get their own layout


def test_the_committed_examples_cover_every_topic_in_every_language() -> None:
    committed = examples()
    for topic in TOPICS:
        for lang in ("en", "zh"):
            cards = committed[topic][lang]
            assert 1 <= len(cards) <= 2, (topic, lang)
            assert all(c["summary"] and c["indicator"] in ("info", "warning", "critical") for c in cards)
            assert all("uuid" not in c for c in cards)


def test_the_committed_examples_are_what_the_scenarios_give_now() -> None:
    assert OUT.read_text(encoding="utf-8") == dumps(generate()), (
        "service/rule_pages/examples.json is stale: run `python -m tools.rule_page_examples`"
    )


def test_card_markdown_becomes_bold_lists_and_paragraphs_and_nothing_else() -> None:
    html = to_html("**Draft order:** pio\n\n**Bone fragility:**\n- a **b**\n- c\n\nLast <b>line</b> & more")
    assert html == (
        "<p><strong>Draft order:</strong> pio</p><p><strong>Bone fragility:</strong></p>"
        "<ul><li>a <strong>b</strong></li><li>c</li></ul><p>Last &lt;b&gt;line&lt;/b&gt; &amp; more</p>"
    )
    assert (
        to_html('<script>alert("x")</script>') == "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>"
    )
    assert to_html("one\ntwo") == "<p>one two</p>"


def _html_text(text: str) -> str:
    return escape(text, quote=True)
