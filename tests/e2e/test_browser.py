"""End to end: a real Streamlit server and Debian's Chromium driven by Playwright (never downloads a browser)."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("fos-home")
    port = free_port()
    env = {**os.environ, "FOS_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the Streamlit server did not start")
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} missing: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(server)
    page.get_by_text("Fine-tune or train from scratch?").wait_for()
    yield page
    context.close()


def start_run(page, examples: str, seconds: str) -> None:
    # Fill the questionnaire as a user would: a few answers changed from the sample.
    page.get_by_role("spinbutton", name="Labeled examples", exact=True).fill(examples)
    page.get_by_role("spinbutton", name="Time budget hours").fill("2")
    page.get_by_role("button", name="Get recommendation").click()
    page.get_by_role("heading", name=re.compile("^Recommendation: ")).wait_for()
    page.get_by_text("What would change the answer").wait_for()
    page.get_by_role("link", name="Validation run").click()
    page.get_by_role("button", name="Start run").wait_for()
    page.get_by_role("spinbutton", name="Training examples").fill(examples)
    page.get_by_role("spinbutton", name="Seconds of training per trial").fill(seconds)
    page.get_by_role("button", name="Start run").click()


def test_questions_to_advice_to_verdict_to_report(page, tmp_path):
    start_run(page, examples="300", seconds="2")
    page.get_by_text("See the verdict").wait_for(timeout=240_000)
    page.get_by_text("See the verdict").click()
    page.get_by_text(re.compile("^(CONFIRMED|CONTRADICTED|INCONCLUSIVE)")).first.wait_for()
    page.get_by_role("link", name="Report").click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download HTML").click()
    path = tmp_path / "report.html"
    download_info.value.save_as(path)
    html = path.read_text()
    for text in ("Recommendation", "Factor contributions", "Measured results", "Verdict", "Reproduce", "<svg"):
        assert text in html, text
    assert not re.search(r"https?://", html), "the report must not reference external URLs"


def test_cancel_stops_the_run(page):
    start_run(page, examples="1000", seconds="120")
    page.get_by_role("button", name="Cancel run").wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"\(train\)")).wait_for(timeout=120_000)
    clicked = time.time()
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_role("heading", name=re.compile(r"^Run \w+: cancelled")).wait_for(timeout=15_000)
    assert time.time() - clicked < 15


def wait_for_input(page, label: str, value: str) -> None:
    page.wait_for_function(
        "([label, value]) => [...document.querySelectorAll('input')]"
        ".some(i => i.getAttribute('aria-label') === label && i.value === value)",
        arg=[label, value],
    )


def choose(page, label: str, option: str) -> None:
    """Pick a selectbox option. A click that lands while an expander is still opening focuses the
    box without opening its menu, so click again until the menu shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    item = page.get_by_role("option", name=option)
    for _ in range(10):
        page.get_by_role("combobox", name=label).click()
        try:
            item.wait_for(timeout=1_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    item.click()
    wait_for_input(page, label, option)


def test_estimate_from_my_data_fills_the_form_in_the_browser(page):
    # A value set by code must reach widgets the browser already shows (AppTest cannot see this).
    wait_for_input(page, "Input resolution", "28")  # the sample profile's answers
    wait_for_input(page, "Domain similarity", "medium")
    page.get_by_text("Estimate domain similarity and input size").click()
    choose(page, "Built-in dataset", "digits")
    page.get_by_role("button", name="Estimate from my data").click()
    page.get_by_text("suggests domain_similarity = low").wait_for(timeout=120_000)
    wait_for_input(page, "Input resolution", "8")
    wait_for_input(page, "Domain similarity", "low")
    page.get_by_role("button", name="Get recommendation").click()
    page.get_by_role("heading", name="Recommendation: Train from scratch").wait_for()
