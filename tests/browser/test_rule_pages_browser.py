"""The rule pages in a real browser: Debian's Chromium driven by Playwright, against the real server process.

A card from a real hook call links its topic's page; the page shows the thresholds the server runs with,
switches to Chinese and back, and no page scrolls sideways on a 390 px phone. Screenshots are kept in the
test's tmp_path (the path is printed). Under CI a missing Chromium or Playwright fails the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.cards import topic_text
from service.kernel.findings import Topic
from service.reference import build
from service.settings import Settings
from tests.conftest import service_unavailable

pytestmark = pytest.mark.slow  # starts the server and a browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The server runs with changed thresholds, so a page showing the defaults would be caught.
RULES = {"sglt2_egfr_threshold": 45.0, "renal_function_window_days": 400}
PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``bone-health-cds serve`` API only, auth off, SQLite in tmp_path, on a free port."""
    command = Path(sys.executable).parent / "bone-health-cds"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BHCDS_")}
    env |= {
        "BHCDS_AUTH_ENABLED": "false",
        "BHCDS_DATABASE_URL": f"sqlite:///{tmp_path / 'pages.db'}",
        **{f"BHCDS_RULES__{name.upper()}": str(value) for name, value in RULES.items()},
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(command), "serve", "--no-embedded-worker", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _status(f"{base}/healthz") != 200:
            assert process.poll() is None, f"serve exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"serve did not come up:\n{log.read_text()}"
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        service_unavailable("Playwright (the `playwright` package of the dev extras)")
    if not CHROMIUM.exists():
        service_unavailable(f"Chromium ({CHROMIUM}: apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Error as exc:
            service_unavailable(f"Chromium ({CHROMIUM} would not start: {exc})")
        try:
            yield launched
        finally:
            launched.close()


def _card_from_a_hook_call(base: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/cds-services/bone-health-order-select",
        data=(REPO / "examples" / "tzd-order-select.json").read_bytes(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        cards: list[dict[str, Any]] = json.loads(response.read())["cards"]
    assert cards, "the example order gives no card"
    return cards[0]


def _settings_shown(page: Any) -> dict[str, str]:
    cells = page.locator("td.value[data-setting]")
    return {
        cells.nth(i).get_attribute("data-setting"): cells.nth(i).inner_text().strip()
        for i in range(cells.count())
    }


def test_a_card_link_opens_its_rule_page_in_both_languages_and_fits_a_phone(
    server: str, browser: Any, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    running = {r.topic.value: r for r in build(Settings(_env_file=None, rules=RULES))}
    card = _card_from_a_hook_call(server)
    topic = card["source"]["topic"]["code"]
    link = card["links"][0]["url"]
    assert link == f"{server}/rules/{topic}"

    page = browser.new_page(viewport={"width": 1024, "height": 1400})
    page.goto(f"{server}/rules")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("li.topic").count() == len(Topic)
    page.screenshot(path=str(shots / "index-en.png"))

    # Follow the card's link, as the clinician does from the EHR.
    page.goto(link)
    assert page.locator("h1").inner_text() == card["source"]["topic"]["display"]
    assert _settings_shown(page) == {k: str(v) for k, v in running[topic].settings.items()}
    assert page.locator("article.card").count() >= 1
    doi = page.locator("a.doi").first
    assert doi.get_attribute("href") == card["source"]["url"]
    page.screenshot(path=str(shots / f"{topic}-en.png"), full_page=True)

    # The thresholds shown are the server's, not the defaults.
    page.goto(f"{server}/rules/sglt2-fracture-caution")
    shown = _settings_shown(page)
    assert shown == {k: str(v) for k, v in running["sglt2-fracture-caution"].settings.items()}
    assert shown["sglt2_egfr_threshold"] == "45.0"

    # Switch language on the card's page: Chinese, and the links stay Chinese.
    page.goto(link)
    page.locator("a.lang").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/rules/{topic}?lang=zh")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("h1").inner_text() == topic_text(topic, "zh").title
    assert "示例卡片" in page.locator("#examples h2").inner_text()
    page.screenshot(path=str(shots / f"{topic}-zh.png"), full_page=True)
    page.locator("a.home").click()
    page.wait_for_load_state()
    assert page.url.endswith("/rules?lang=zh")
    assert page.locator("h1").inner_text() == "骨健康规则"
    page.locator("a.lang").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"

    # A phone: the index and every topic page, every value set opened, never scroll sideways.
    phone = browser.new_page(viewport=PHONE)
    too_wide = []
    for lang in ("en", "zh"):
        for path in ["/rules", *(f"/rules/{t.value}" for t in Topic)]:
            phone.goto(f"{server}{path}?lang={lang}")
            phone.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            if not phone.evaluate(NO_SIDEWAYS_SCROLL):
                width = phone.evaluate("document.documentElement.scrollWidth")
                too_wide.append(f"{path}?lang={lang}: {width} px")
                phone.screenshot(path=str(shots / f"too-wide-{path.strip('/').replace('/', '-')}-{lang}.png"))
        phone.goto(f"{server}/rules?lang={lang}")
        phone.screenshot(path=str(shots / f"index-{lang}-390px.png"))
        phone.goto(f"{server}/rules/{topic}?lang={lang}")
        phone.screenshot(path=str(shots / f"{topic}-{lang}-390px.png"))
    print(f"rule page screenshots: {shots}")
    assert not too_wide, too_wide


FOLDED_SHOT = REPO / "docs" / "screenshots" / "folded-card.png"


def test_the_index_shows_a_whole_answer_with_its_folded_card(
    server: str, browser: Any, tmp_path: Path
) -> None:
    """rules.md r3 "Card budget": the folded "More bone-health findings (N)" card as an EHR shows it, each
    folded finding linking its topic's page. Its screenshot is kept in tmp_path; docs/ holds a copy."""
    page = browser.new_page(viewport={"width": 1024, "height": 1400})
    page.goto(f"{server}/rules")
    answer = page.locator("#answer article.card")
    assert answer.count() >= 2
    folded = page.locator("#answer article.card", has_text="More bone-health findings")
    assert folded.count() == 1
    folded.scroll_into_view_if_needed()
    assert folded.is_visible()
    summary = folded.locator(".summary").inner_text()
    links = folded.locator(".detail a")
    assert summary == f"More bone-health findings ({links.count()})"
    assert links.count() >= 2
    topics = {t.value for t in Topic}
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    assert all(h.endswith("?lang=en") for h in hrefs), hrefs  # the page's language is kept
    paths = [h.removesuffix("?lang=en") for h in hrefs]
    assert all(p.startswith("/rules/") and p.removeprefix("/rules/") in topics for p in paths), hrefs
    shot = tmp_path / "folded-card.png"
    folded.screenshot(path=str(shot))
    assert shot.stat().st_size > 1000
    print(f"folded card screenshot: {shot}")

    # A folded finding's link opens its topic's page.
    links.first.click()
    page.wait_for_load_state()
    first = paths[0].removeprefix("/rules/")
    assert page.url.endswith(hrefs[0])
    assert page.locator("h1").inner_text() == topic_text(first, "en").title

    # In Chinese the same answer, its folded card worded in Chinese.
    page.goto(f"{server}/rules?lang=zh")
    assert page.locator("#answer article.card", has_text="更多骨健康提示").count() == 1
