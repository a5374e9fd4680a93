"""End to end in a real headless browser: the support page (/ui/) on a live server shows a new alert.

The server is the real application under uvicorn on 127.0.0.1 (a free port, a temporary SQLite
database, the FakeTextAnalyzer test double for texts); the browser is Debian's ``chromium``
driven by Playwright (``pip install playwright``; its own browser download is not used). The test
types the API key into the page's form, ingests messages through the HTTP API that raise an
alert, and waits for that alert in the page's live feed (SSE over fetch); then it switches the
interface language es <-> en and reads a translated label.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import ADMIN_KEY, FakeTextAnalyzer, churning_messages, make_settings

from analyzer.service import create_app

CHROMIUM = os.environ.get("DARKFEEDBACK_TEST_CHROMIUM", "/usr/bin/chromium")
# No network beyond loopback, no GPU, no sandbox (CI runs as root in a container).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")
pytestmark = pytest.mark.requires_browser  # chromium at CHROMIUM (tests/conftest.py)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """The real app under uvicorn in a thread; yields its base URL and stops it afterwards."""
    import uvicorn

    app = create_app(make_settings(tmp_path), text_analyzer=FakeTextAnalyzer())
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
        yield url
    finally:
        server.should_exit = True
        thread.join(15)


def test_page_shows_a_new_alert_live_and_switches_language(live_server: str) -> None:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(locale="es-ES")
            page = context.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.goto(f"{live_server}/ui/")
            # Without a key the page asks for one (in Spanish: the browser's locale).
            sync_api.expect(page.locator("#msg")).to_contain_text("clave de API", timeout=10_000)
            page.fill("#apikey", ADMIN_KEY)
            page.click("#keyform button[type=submit]")
            # The feed is connected (the SSE stream answered 200) before anything is ingested, so
            # the alert can only reach the page through the live stream, not the initial list.
            sync_api.expect(page.locator("#conn")).to_have_class("conn on", timeout=10_000)
            sync_api.expect(page.locator("#feed")).to_contain_text("Sin alertas")

            with httpx.Client(base_url=live_server, headers={"X-API-Key": ADMIN_KEY}, timeout=30) as api:
                assert api.put("/v1/customers/BROWSER-1", json={"value_tier": "vip"}).status_code == 200
                r = api.post("/v1/messages", json={"messages": churning_messages("BROWSER-1", prefix="b")})
                assert r.status_code == 201, r.text
            # The worker evaluates the customer off the request path; the alert reaches the page by the stream.
            item = page.locator("#feed li[data-alert]", has_text="BROWSER-1")
            sync_api.expect(item).to_be_visible(timeout=5_000)
            sync_api.expect(item).to_contain_text("BROWSER-1")
            sync_api.expect(item.get_by_role("button", name="Resolver")).to_be_visible()

            # Interface language: es -> en -> es, on the static labels and on the alert's buttons.
            heading = page.locator("#feed-view h2")
            sync_api.expect(heading).to_have_text("Alertas en directo")
            page.select_option("#lang", "en")
            sync_api.expect(heading).to_have_text("Live alerts")
            sync_api.expect(page.locator("html")).to_have_attribute("lang", "en")
            sync_api.expect(item.get_by_role("button", name="Resolve")).to_be_visible()
            page.select_option("#lang", "es")
            sync_api.expect(heading).to_have_text("Alertas en directo")
            assert page_errors == []
        finally:
            browser.close()
