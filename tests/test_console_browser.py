"""The console in a real browser: Debian's Chromium driven by Playwright,
against a real gunicorn with two workers (so a form's CSRF token made by one
worker is checked by the other). Few tests: each drives whole pages."""
import os
import shutil

import pytest
import requests

from conftest import CHANNEL
from gunicorn_server import Gunicorn

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium calls Google's hosts,
# which a closed network refuses again and again.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-secret"

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason=f"no {CHROMIUM}: apt-get install chromium (.ci/run does)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("console")
    gunicorn = Gunicorn(folder, f"sqlite:///{folder / 'interaction.sqlite3'}", PASSWORD, workers=2)
    try:
        yield gunicorn.wait_until_healthy()
    finally:
        gunicorn.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def api(server):
    session = requests.Session()
    session.auth = ("admin", PASSWORD)
    session.base_url = f"http://127.0.0.1:{server.port}"
    session.post(session.base_url + "/__stand_in/reset").raise_for_status()
    return session


@pytest.fixture
def page(browser, api):
    context = browser.new_context(http_credentials={"username": "admin", "password": PASSWORD})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_filter_the_list_open_an_interaction_and_close_it(page, api):
    interactions = [
        {"channel": CHANNEL, "state": "queued", "short_description": "Printer jams", "context": {"floor": 3}},
        {"channel": CHANNEL, "state": "queued", "short_description": "VPN down"},
        {"channel": CHANNEL, "state": "new", "short_description": "Printer out of toner"},
    ]
    api.post(api.base_url + "/__stand_in/seed", json={"interactions": interactions}).raise_for_status()
    page.goto(api.base_url + "/")
    assert page.url.endswith("/__stand_in/console/")
    page.select_option("select[name=state]", "queued")
    page.fill("input[name=text]", "printer")
    page.click("text=Filter")
    assert "state=queued" in page.url and "text=printer" in page.url
    rows = page.locator("table.interactions tbody tr")
    assert rows.count() == 1
    page.click("text=IMS0000001")
    assert page.locator("h1").inner_text().startswith("IMS0000001")
    assert '"floor": 3' in page.locator("pre.code").first.inner_text()
    page.click("button:has-text('Close')")
    page.wait_for_url("**?done=closed")
    assert "Closed Complete" in page.locator("h1").inner_text()


def test_a_fault_added_in_the_console_fails_the_next_close_and_shows_in_requests(page, api):
    sys_id = api.post(api.base_url + "/api/now/interaction", json={"channel": CHANNEL}).json()["result"]["sys_id"]
    page.goto(api.base_url + "/__stand_in/console/faults")
    preset = page.locator("form:has(input[value=close503])")
    preset.locator("input[name=times]").fill("1")
    preset.locator("button").click()
    page.wait_for_url("**?done=fault-added")
    assert page.locator("table.rules tbody tr").count() == 1

    assert api.post(f"{api.base_url}/api/now/interaction/{sys_id}/close").status_code == 503
    assert api.post(f"{api.base_url}/api/now/interaction/{sys_id}/close").status_code == 200

    page.click("nav >> text=Requests")
    page.fill("input[name=path]", "/close$")
    page.click("text=Filter")
    rows = page.locator("table.entries tbody tr")
    assert rows.count() == 2
    failed = rows.nth(1)
    assert failed.locator(".status").inner_text() == "503"
    assert failed.locator("a.fault").inner_text() == "rule 1"
    failed.locator("td[data-label=Transaction] a").click()
    curl = page.locator("pre.curl").inner_text()
    assert f"/api/now/interaction/{sys_id}/close" in curl and '-u admin:"$PASSWORD"' in curl
    assert PASSWORD not in page.content()


def test_reset_after_a_confirmation(page, api):
    api.post(api.base_url + "/api/now/interaction", json={"channel": CHANNEL}).raise_for_status()
    page.goto(api.base_url + "/__stand_in/console/reset")
    page.click("text=Reset interactions…")
    assert "1 interactions" in page.locator(".confirm").inner_text()
    page.click("text=Yes, reset the interactions")
    page.wait_for_url("**/__stand_in/console/?done=reset-interactions")
    assert "No interaction matches." in page.content()
    assert api.get(api.base_url + "/api/now/table/interaction").json()["result"] == []


PHONE = {"width": 390, "height": 844}


def test_every_page_fits_a_390_px_screen(browser, api):
    """No page scrolls sideways on a phone: the widest value a page shows (a
    sys_id, a path, a document, a rule) breaks or scrolls inside its box."""
    interaction = api.post(
        api.base_url + "/api/now/interaction",
        json={"channel": CHANNEL, "context": {"customer": "a-long-customer-identifier-that-does-not-break-by-itself"}},
    ).json()["result"]
    api.post(f"{api.base_url}/api/now/interaction/{interaction['sys_id']}/close").raise_for_status()
    api.post(
        api.base_url + "/__stand_in/faults",
        json={"match": {"path": "/api/now/table/interaction_json_blob$"}, "effect": {"type": "delay", "ms": 10}},
    ).raise_for_status()
    transaction_id = api.get(api.base_url + "/__stand_in/requests").json()["result"][0]["transaction_id"]
    console = api.base_url + "/__stand_in/console"
    pages = [
        "/",
        f"/interactions/{interaction['sys_id']}",
        "/requests",
        f"/requests/{transaction_id}",
        "/faults",
        "/reset",
        "/reset?scope=all",
        "/reset?scope=nonsense",
        "/interactions/" + "0" * 32,
    ]
    context = browser.new_context(
        viewport=PHONE, http_credentials={"username": "admin", "password": PASSWORD}
    )
    try:
        page = context.new_page()
        widths = {}
        for path in pages:
            page.goto(console + path)
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
    finally:
        context.close()
    assert {path: width for path, width in widths.items() if width > PHONE["width"]} == {}
