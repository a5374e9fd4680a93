"""End to end in a real headless browser: every page of the workspace (/ui/) on a live server.

The server is the real application under uvicorn on 127.0.0.1 (a free port, a temporary SQLite
database, the FakeTextAnalyzer test double for texts, a clock the test moves); the browser is
Debian's ``chromium`` driven by Playwright (``pip install playwright``; its own browser download is
not used). On every page the tests run axe-core (vendored in ``tests/vendor/axe-core``, injected
into the page) and fail on any violation, and fail when a code (``priority_call``, ``ticket_opened``)
or an unfilled placeholder reaches the visible text. The tour saves the screenshots shown in the
README (``docs/screenshots/``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import ADMIN_KEY, FakeTextAnalyzer, churning_messages, make_settings

from analyzer.service import create_app

CHROMIUM = os.environ.get("DARKFEEDBACK_TEST_CHROMIUM", "/usr/bin/chromium")
# No network beyond loopback, no GPU, no sandbox (CI runs as root in a container).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "datasets" / "sample"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)  # the day after the sample's last record

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")
pytestmark = pytest.mark.requires_browser  # chromium at CHROMIUM (tests/conftest.py)
expect = sync_api.expect


class Clock:
    """The service's "now", moved by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Clock]]:
    """The real app under uvicorn in a thread; yields its base URL and clock, and stops it afterwards."""
    import uvicorn

    clock = Clock(START)
    app = create_app(make_settings(tmp_path), text_analyzer=FakeTextAnalyzer(), clock=clock)
    port = _free_port()
    # The page keeps an SSE stream open: a short graceful timeout so shutdown does not wait on it.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the test server on {url} did not start within 30 s")
        time.sleep(0.05)
    try:
        yield url, clock
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Any, url: str, locale: str = "es-ES") -> tuple[Any, list[str]]:
    page = browser.new_context(locale=locale, viewport={"width": 1280, "height": 860}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/ui/")
    return page, errors


def sign_in(page: Any, key: str, name: str) -> None:
    page.fill("#apikey", key)
    page.click("#keyform button[type=submit]")
    expect(page.locator("#me")).to_contain_text(name, timeout=10_000)


def go(page: Any, route: str, ready: str) -> None:
    """Open a page of the workspace and wait until it has rendered ``ready`` and is no longer busy."""
    page.evaluate(f"location.hash = {route!r}")
    page.wait_for_selector(ready, timeout=30_000)
    page.wait_for_selector("main > section:not([hidden]):not([aria-busy])", timeout=30_000)


def check_page(page: Any, name: str | None = None, *, full: bool = False) -> None:
    """axe-core finds nothing; no code or placeholder in the visible text (quotes, YAML and the YAML loader's
    messages aside); optionally a README screenshot."""
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluate() is not subject to the page's CSP
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))""")
    assert violations == [], f"accessibility violations on {page.url}: {violations}"
    text = page.evaluate("""() => { const c = document.body.cloneNode(true);
        c.querySelectorAll('textarea, code, blockquote, .message span:last-child, .raw, script')
            .forEach(n => n.remove());
        return c.innerText; }""")
    codes = sorted(set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", text)))
    assert codes == [], f"untranslated codes on {page.url}: {codes}"
    holes = sorted(set(re.findall(r"\{[a-z]+\}", text)))
    assert holes == [], f"unfilled placeholders on {page.url}: {holes}"
    if name:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full)


def leaving(customer_id: str, now: dt.datetime) -> list[dict[str, Any]]:
    """Three negative messages of the last days saying the customer wants to leave (by the service's clock)."""
    msgs = churning_messages(customer_id, prefix=customer_id)
    for i, m in enumerate(msgs):
        m["timestamp"] = (now - dt.timedelta(days=5 - 2 * i)).isoformat()
    return msgs


def upload(page: Any, kind: str, file: Path) -> str:
    page.select_option("#up-kind", kind)
    page.set_input_files("#up-file", str(file))
    page.locator("form.upload").first.locator("button[type=submit]").click()
    done = page.locator(f".done[data-file='{file.name}']")
    expect(done).to_be_visible(timeout=120_000)
    return str(done.inner_text())


def test_the_workspace_tour(live: tuple[str, Clock], browser: Any) -> None:
    """A support lead's day: the team, an upload, the overview, the alert feed worked by an agent, a
    customer's page, and which actions kept customers -- every page checked and photographed."""
    url, clock = live
    api = httpx.Client(base_url=url, headers={"X-API-Key": ADMIN_KEY}, timeout=60)
    page, errors = open_page(browser, url)
    expect(page.locator("#msg")).to_contain_text("clave de API", timeout=10_000)  # asks for a key, in Spanish
    sign_in(page, ADMIN_KEY, "bootstrap")

    # Settings: a key per agent; the rules and the taxonomy in force, checked before saving.
    go(page, "#/settings", "#cfg-rules")
    page.fill("#agent-name", "ana")
    page.click("section.team button[type=submit]")
    expect(page.locator("section.team code")).to_contain_text("dfk_")
    ana_key = str(page.locator("section.team code").inner_text())
    rules = page.locator("#cfg-rules")
    assert "leaving_valuable_customer" in rules.input_value()
    rules.fill(rules.input_value().replace("themes: [delivery_delay,", "themes: [delivery_dely,"))
    page.locator("section.cfg").first.locator("button").click()
    expect(page.locator("section.cfg").first.locator("[role=status]")).to_contain_text("delivery_dely")
    assert api.get("/v1/settings/rules").json()["source"] == "packaged"  # refused: nothing saved
    check_page(page, "settings")

    # Upload: the sample's customers, a year of events and the messages go into the database as one
    # back-fill each, and raise their alerts.
    go(page, "#/upload", "#up-file")
    assert "82" in upload(page, "customers", SAMPLE / "customers.csv")
    upload(page, "events", SAMPLE / "events.csv")
    done = upload(page, "messages", SAMPLE / "messages.csv")
    new_alerts = int(re.search(r"(\d+) alertas nuevas", done).group(1))  # type: ignore[union-attr]
    assert new_alerts > 0
    boxes = page.locator(".progress-box").first
    # The sample's bad rows, named by message id: a day-first date, no date at all, an empty text.
    expect(boxes).to_contain_text("3 filas rechazadas")
    for bad in ("m027", "m034", "m035"):
        expect(boxes).to_contain_text(bad)
    # An export of an import source (an NPS survey) through the jobs API: imported, analysed and stored.
    customers_before = api.get("/v1/customers", params={"limit": 1}).json()["total"]
    page.select_option("#job-source", "nps")
    page.set_input_files("#job-file", str(SAMPLE / "nps" / "encuesta_nps.csv"))
    page.locator("form.upload").nth(1).locator("button[type=submit]").click()
    expect(page.locator(".done[data-file='encuesta_nps.csv']")).to_be_visible(timeout=120_000)
    expect(page.locator(".progress-box").nth(1)).to_contain_text("Guardado en la base de datos")
    api.post("/v1/backfill/complete?wait=true")  # the import's customers judged now, not within seconds
    assert api.get("/v1/customers", params={"limit": 1}).json()["total"] > customers_before
    active = api.get("/v1/alerts", params={"status": ["open", "acknowledged"]}).json()["total"]
    assert active >= new_alerts
    check_page(page, "upload")

    # Overview of the last 13 weeks (the sample's messages are from September and October): the cards say
    # what the API says.
    page.evaluate("sessionStorage.setItem('df-days', '91')")
    go(page, "#/", ".cards")
    ov = api.get("/v1/overview", params={"days": 91}).json()
    cards = page.locator("#page-overview .card .big")
    at_risk = sum(ov["customers"]["by_severity"].get(s, 0) for s in ("critical", "high", "medium", "low"))
    assert at_risk > 0 and ov["alerts"]["today"] > 0  # the upload shows (the signed-in overview was empty)
    expect(cards.nth(0)).to_have_text(str(at_risk))
    expect(cards.nth(2)).to_have_text(str(ov["alerts"]["today"]))
    assert page.locator("#page-overview figure.chart").count() == 2
    check_page(page, "overview")

    # Alerts: paging, filters, search, keyboard.
    go(page, "#/alerts", "#alert-list article")
    expect(page.locator("#alert-count")).to_have_text(f"1–{min(25, active)} de {active}")
    page.select_option("#fa-severity", "high")
    high = api.get("/v1/alerts", params={"status": ["open", "acknowledged"], "severity": "high"}).json()["total"]
    expect(page.locator("#alert-count")).to_contain_text(f"de {high}")
    assert page.locator("#alert-list article").count() == page.locator("#alert-list article.sev-high").count()
    page.select_option("#fa-severity", "")
    expect(page.locator("#alert-count")).to_contain_text(f"de {active}")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "fa-q"
    page.keyboard.type("c-10")
    found = api.get("/v1/alerts", params={"status": ["open", "acknowledged"], "q": "c-10"}).json()["total"]
    assert 0 < found < active
    expect(page.locator("#alert-count")).to_have_text(f"1–{min(25, found)} de {found}")
    ids = page.locator("#alert-list article .alert-title a").all_inner_texts()
    assert ids and all("c-10" in i for i in ids)
    page.locator("#fa-q").fill("")
    expect(page.locator("#alert-count")).to_contain_text(f"de {active}")
    check_page(page, "alerts")
    page.locator("main").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    first = page.evaluate("document.activeElement.dataset.alert")
    assert first
    # A new alert arrives while the list is open: it appears without a reload.
    api.put("/v1/customers/LIVE-1", json={"value_tier": "vip"})
    assert api.post("/v1/messages", json={"messages": leaving("LIVE-1", clock.now)}).status_code == 201
    expect(page.locator("#alert-list article", has_text="LIVE-1")).to_be_visible(timeout=30_000)
    page.locator(f"article[data-alert='{first}']").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/c/"))

    # Customers: ranked by risk.
    go(page, "#/customers", "table.ranked tbody a")
    top = api.get("/v1/customers", params={"lapsed": "false", "limit": 1}).json()["items"][0]
    expect(page.locator("table.ranked tbody tr").first.locator("th")).to_have_text(top["customer_id"])
    check_page(page, "customers")

    # A customer with messages, purchases and an open alert.
    story = api.get("/v1/customers/c-1001/story").json()
    go(page, "#/c/c-1001", ".timeline")
    assert page.locator("#page-customer figure.chart").count() == 3
    expect(page.locator("ul.reasons").first.locator("li")).to_have_count(len(story["raises"]))
    expect(page.locator(".timeline li.events").first).to_contain_text("×")
    assert page.locator(".timeline li.message").count() == sum(1 for i in story["timeline"] if i["kind"] == "message")
    check_page(page, "customer", full=True)

    # An agent signs in with their own key, takes an alert, records what they did and what came of it.
    page.click("#signout")
    sign_in(page, ana_key, "ana")
    go(page, "#/alerts", "#alert-list article")
    card = page.locator("#alert-list article").first
    alert_id = card.get_attribute("data-alert")
    card.locator("button.take").click()
    card = page.locator(f"article[data-alert='{alert_id}']")
    expect(card).to_contain_text("Responsable: ana")
    page.select_option("#fa-owner", "me")
    expect(page.locator("#alert-count")).to_have_text("1–1 de 1")
    card.locator("summary", has_text="Trabajar").click()
    card.locator(f"#act-{alert_id}").select_option("priority_call")
    card.locator(f"#note-{alert_id}").fill("Llamé, le ofrecí envío gratis; su correo es ana.cliente@example.com")
    card.get_by_role("button", name="Guardar acción").click()
    expect(card).to_contain_text("Estado: atendida")
    card = page.locator(f"article[data-alert='{alert_id}']")
    card.locator("summary", has_text="Trabajar").click()
    card.locator(f"#out-{alert_id}").select_option("retained")
    # The same alert changes live (a colleague's note, a reload) while ana is choosing: the card is drawn
    # again, and her open panel and her choice survive it.
    page.evaluate("""async (id) => {
        const a = await DF.api("/v1/alerts/" + id + "?lang=es");
        window.dispatchEvent(new CustomEvent("df-alert", { detail: { kind: "updated", alert: a } }));
    }""", alert_id)
    expect(card.locator(f"#out-{alert_id}")).to_be_visible()
    expect(card.locator(f"#out-{alert_id}")).to_have_value("retained")
    card.get_by_role("button", name="Guardar resultado y cerrar").click()
    expect(page.locator("#alert-count")).to_have_text("0–0 de 0")  # resolved: no longer to work
    history = api.get(f"/v1/alerts/{alert_id}/history").json()
    who = {(h["kind"], h["agent"]) for h in history}
    assert {("assigned", "ana"), ("action", "ana"), ("outcome", "ana"), ("resolved", "ana")} <= who
    note = next(h["detail"]["note"] for h in history if h["kind"] == "action")
    assert "example.com" not in note and "[EMAIL]" in note

    # Meanwhile the team sends an offer to half of the largest group of similar alerts (same rule and severity).
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in api.get("/v1/alerts", params={"status": "open", "limit": 500}).json()["items"]:
        if a["rule"] != "win_back":
            groups.setdefault((a["rule"], a["severity"]), []).append(a)
    similar = max(groups.values(), key=len)
    assert len(similar) >= 4
    offered = similar[: len(similar) // 2]
    for a in offered:
        assert api.post(f"/v1/alerts/{a['alert_id']}/actions", json={"action": "relevant_offer"}).status_code == 201
    # 100 days later: which actions kept customers. Some customers came back on day 60: the one ana called,
    # every second customer offered something, and one of those nobody contacted.
    came_back = [api.get(f"/v1/alerts/{alert_id}").json()["customer_id"]]
    came_back += [a["customer_id"] for a in offered[::2]] + [similar[-1]["customer_id"]]
    clock.now = START + dt.timedelta(days=100)
    back = [{"event_id": f"back-{i}", "customer_id": c, "timestamp": (START + dt.timedelta(days=60)).isoformat(),
             "type": "purchase", "value": 30.0, "channel": "web"} for i, c in enumerate(came_back)]
    assert api.post("/v1/events", json={"events": back}).status_code == 201
    page.click("#signout")
    sign_in(page, ADMIN_KEY, "bootstrap")
    page.evaluate("sessionStorage.setItem('df-window', '90')")
    go(page, "#/outcomes", "table.outcomes")
    expect(page.locator("#page-outcomes .note")).to_contain_text("Observacional")
    row = page.locator("table.outcomes").first.locator("tbody tr", has_text="Llamada prioritaria")
    expect(row).to_contain_text("se queda: 1")
    report = api.get("/v1/outcomes", params={"window_days": 90}).json()
    by_action = {r["action"]: r for r in report["by_action"]}
    assert by_action["priority_call"]["contacted"] == 1 and by_action["priority_call"]["contacted_retained"] == 1
    offers = by_action["relevant_offer"]
    assert offers["contacted"] == len(offered) and offers["contacted_retained"] == len(offered[::2])
    assert offers["comparison"] == len(similar) - len(offered) and offers["comparison_rate"] == round(
        1 / (len(similar) - len(offered)), 4)
    row = page.locator("table.outcomes").first.locator("tbody tr", has_text="Oferta relevante")
    expect(row).to_contain_text(f"{round(100 * offers['difference']):+d} puntos")
    check_page(page, "outcomes")

    # The whole workspace in English too.
    page.select_option("#lang", "en")
    expect(page.locator("#page-outcomes h1")).to_have_text("Outcomes")
    expect(page.locator("#page-outcomes .note")).to_contain_text("Observational")
    check_page(page)
    go(page, "#/", ".cards")
    expect(page.locator("#page-overview .card h2").first).to_have_text("Customers at risk")
    check_page(page)
    for route, ready, heading in (("#/alerts", "#alert-list article", "Alerts"), ("#/c/c-1001", ".timeline", None),
                                  ("#/settings", "#cfg-taxonomy", "Settings"), ("#/upload", "#up-file", "Upload")):
        go(page, route, ready)
        if heading:
            expect(page.locator("main > section:not([hidden]) h1")).to_have_text(heading)
        check_page(page)
    assert errors == []
    api.close()


def test_a_new_alert_reaches_the_feed_live_and_the_language_switches(live: tuple[str, Clock], browser: Any) -> None:
    url, _ = live
    page, errors = open_page(browser, url)
    sign_in(page, ADMIN_KEY, "bootstrap")
    go(page, "#/alerts", "#alert-list")
    # The feed is connected (the SSE stream answered 200) before anything is ingested, so the alert can
    # only reach the page through the live stream, not the initial list.
    expect(page.locator("#conn")).to_have_class("conn on", timeout=10_000)
    expect(page.locator("#alert-list")).to_contain_text("Sin alertas")
    with httpx.Client(base_url=url, headers={"X-API-Key": ADMIN_KEY}, timeout=30) as api:
        assert api.put("/v1/customers/BROWSER-1", json={"value_tier": "vip"}).status_code == 200
        r = api.post("/v1/messages", json={"messages": leaving("BROWSER-1", START)})
        assert r.status_code == 201, r.text
    item = page.locator("#alert-list article[data-alert]", has_text="BROWSER-1")
    # The worker judges within about a second; the first judgement ever also fits the model (slower on a
    # loaded CI machine).
    expect(item).to_be_visible(timeout=30_000)
    expect(item.get_by_role("button", name="Me la quedo")).to_be_visible()
    expect(page.locator("#announce")).to_contain_text("BROWSER-1")  # screen readers hear of it too
    heading = page.locator("#page-alerts h1")
    expect(heading).to_have_text("Alertas")
    page.select_option("#lang", "en")
    expect(heading).to_have_text("Alerts")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(item.get_by_role("button", name="Take it")).to_be_visible()
    page.select_option("#lang", "es")
    expect(heading).to_have_text("Alertas")
    assert errors == []
