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
def fos_home(tmp_path_factory):
    """The server's run store folder (FOS_HOME): tests write stored runs into it and hold its device lock."""
    return tmp_path_factory.mktemp("fos-home")


@pytest.fixture(scope="module")
def server(fos_home):
    home = fos_home
    port = free_port()
    env = {**os.environ, "FOS_HOME": str(home), "FOS_WARM_WORKER": "1"}  # the app as a person runs it
    process = subprocess.Popen(
        [sys.executable, "-m", "finetune_or_scratch.app.serve", "app.py", "--server.port", str(port),
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


def open_app(browser, server, width: int = 1400):
    context = browser.new_context(viewport={"width": width, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server)
    page.get_by_text("Fine-tune or train from scratch?").wait_for()
    return context, page


@pytest.fixture
def page(browser, server):
    context, page = open_app(browser, server)
    yield page
    context.close()


def wait_for_input(page, label: str, value: str) -> None:
    page.wait_for_function(
        "([label, value]) => [...document.querySelectorAll('input')]"
        ".some(i => i.getAttribute('aria-label') === label && i.value === value)",
        arg=[label, value],
    )


def choose(page, label: str, option: str) -> None:
    """Pick a selectbox option. A click that lands while an expander is still opening focuses the
    box without opening its menu, and a rerun can redraw an open menu: so open it again until the click lands."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    item = page.get_by_role("option", name=option).first
    for _ in range(20):
        page.get_by_role("combobox", name=label).click()
        try:
            item.wait_for(timeout=1_000)
            item.click(timeout=3_000)  # a rerun that redraws the open menu detaches the option: open it again
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"{label}: option {option!r} never became clickable")


def advise(page, examples: str = "300") -> None:
    """Fill the questionnaire as a user would (a few answers changed from the sample) and get the advice."""
    page.get_by_role("spinbutton", name="Labeled examples", exact=True).fill(examples)
    page.get_by_role("spinbutton", name="Time budget (hours)").fill("2")
    page.get_by_role("button", name="Get recommendation").click()
    page.get_by_role("heading", name=re.compile("^Recommendation: ")).wait_for()
    page.get_by_text("What would change the answer").wait_for()


def fill_run(page, examples: str, seconds: str, arms: tuple[str, ...] = ("Linear probe", "Train from scratch"),
             dataset: str = "digits", size: str = "1,797 images in 10 classes") -> None:  # fmt: skip
    """On the Validation run page: the built-in dataset, the given arms, examples and seconds; then start."""
    page.get_by_role("button", name="Start run").wait_for()
    choose(page, "Built-in dataset", dataset)
    page.get_by_text(size).wait_for()  # the form shows the dataset's size
    arms_box = page.get_by_role("combobox", name="Arms")
    for _ in range(6):  # clear the preselection with the keyboard, as a person would
        arms_box.click()
        page.keyboard.press("Backspace")
    for arm in arms:
        arms_box.click()
        page.keyboard.type(arm)
        page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_role("spinbutton", name="Training examples").fill(examples)
    page.get_by_role("spinbutton", name="Seconds of training per trial").fill(seconds)
    page.get_by_role("button", name="Start run").click()


def run_id_of(page) -> str:
    page.wait_for_url(re.compile(r"[?&]run=\w+"))
    return re.search(r"[?&]run=(\w+)", page.url).group(1)


def test_questions_to_advice_to_verdict_compare_profile_and_report(page, tmp_path):
    advise(page)
    page.get_by_role("button", name="Validate this advice").first.click()
    page.get_by_role("heading", name="Validation run").wait_for()
    fill_run(page, examples="100", seconds="1")
    first = run_id_of(page)
    page.get_by_text("Dataset: digits").first.wait_for()  # the run card: the run's own settings, on top
    page.get_by_text("See the verdict").wait_for(timeout=300_000)
    # A second run with other settings, to compare.
    fill_run(page, examples="60", seconds="1")
    page.wait_for_url(re.compile(rf"[?&]run=(?!{first})\w+"))
    second = run_id_of(page)
    page.get_by_text("See the verdict").wait_for(state="detached")  # the first run's panel gives way
    page.get_by_text("See the verdict").wait_for(timeout=300_000)
    page.get_by_text("See the verdict").click()
    page.get_by_role("heading", name="Verdict").wait_for()
    assert f"run={second}" in page.url  # a link that reopens this run
    page.get_by_text(re.compile(r"^(CONFIRMED|CONTRADICTED|INCONCLUSIVE|NOT DECIDED)")).first.wait_for()

    page.get_by_role("link", name="Compare with another run").click()
    page.get_by_role("heading", name="Compare two runs").wait_for()
    choose(page, "Second run", re.compile(f"^{first}"))
    page.get_by_text("Settings that differ").wait_for()
    page.get_by_text("Questionnaire answers that differ").wait_for()
    # Both runs' accuracy on one axis: drawn after the tables (a count at once raced the chart's render).
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for()

    choose(page, "Pick a profile", re.compile("300 examples"))
    page.get_by_role("button", name="Load into questionnaire").click()
    page.get_by_text("Fine-tune or train from scratch?").wait_for()
    wait_for_input(page, "Labeled examples", "300")

    page.goto(page.url.split("?")[0].rsplit("/", 1)[0] + f"/report?run={second}")
    page.get_by_role("heading", name="Report").wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download HTML").click()
    path = tmp_path / "report.html"
    download_info.value.save_as(path)
    html = path.read_text()
    for text in ("Recommendation", "Factor contributions", "Measured results", "Verdict", "Reproduce", "<svg",
                 "digits", "Linear probe"):  # fmt: skip
        assert text in html, text
    assert "[&#x27;" not in html and "['" not in html  # no Python list printed
    # Nothing fetched: no URL in an attribute or CSS; the only URLs are the published cases' citations, as text.
    assert not re.search(r"""(src|href)\s*=\s*["']?https?://|url\(""", html), "the report must not load external URLs"
    before, cited = html.split("<h3>Nearest published cases</h3>")
    assert not re.search(r"https?://", before + cited.split("<h3>", 1)[1]), "URLs outside the cited sources"


def test_cancel_stops_the_run(page):
    advise(page)
    page.get_by_role("button", name="Validate this advice").first.click()
    fill_run(page, examples="1000", seconds="120", arms=("Full fine-tune",))
    page.get_by_role("button", name="Cancel run").wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"\(train\)")).wait_for(timeout=120_000)
    clicked = time.time()
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_text(re.compile(r"^Cancelled (after|before)")).wait_for(timeout=15_000)
    assert time.time() - clicked < 15
    assert page.get_by_text("See the verdict", exact=True).count() == 0  # not offered as if complete


def test_at_800_px_the_ranking_keeps_its_score_column(browser, server):
    context, page = open_app(browser, server, width=800)
    try:
        page.get_by_role("button", name="Get recommendation").click()
        page.get_by_role("heading", name=re.compile("^Recommendation: ")).wait_for()
        header = page.get_by_role("columnheader", name="Score (points)")
        header.wait_for()
        box = header.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 800, box
        chart = page.locator("[data-testid=stVegaLiteChart]").first.bounding_box()
        table = page.locator("[data-testid=stTable]").first.bounding_box()
        assert chart["width"] >= 0.95 * table["width"], (chart, table)  # the chart takes the page's full width
    finally:
        context.close()


def twenty_image_zip(path: Path) -> Path:
    import io
    import zipfile

    from PIL import Image

    with zipfile.ZipFile(path, "w") as archive:
        for c in range(2):
            for i in range(10):
                buffer = io.BytesIO()
                Image.new("RGB", (16, 16), (c * 200, i * 20, 50)).save(buffer, format="PNG")
                archive.writestr(f"shapes/class{c}/{i}.png", buffer.getvalue())
    return path


def test_estimate_from_a_20_image_zip_shows_a_result_or_a_plain_message(page, tmp_path):
    page.get_by_text("Estimate from my data: classes, size").click()
    page.get_by_text("Upload a .zip").first.click()
    page.locator("input[type=file]").set_input_files(str(twenty_image_zip(tmp_path / "shapes.zip")))
    page.get_by_text("20 images in 2 classes").wait_for(timeout=120_000)
    page.get_by_role("button", name="Estimate from my data").click()
    outcome = page.locator("[data-testid=stAlertContentInfo], [data-testid=stAlertContentError]").filter(
        has_text=re.compile("LogME|shapes.zip")
    )
    outcome.first.wait_for(timeout=120_000)
    text = outcome.first.inner_text()
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in text and "uploads/" not in text, text
    if "LogME" in text:  # a result fills the form the browser already shows (AppTest cannot see this)
        wait_for_input(page, "Image side (pixels)", "16")
        wait_for_input(page, "Classes", "2")
        wait_for_input(page, "Labeled examples", "20")
        page.get_by_text("↳ filled from shapes.zip").first.wait_for()


SHOTS = Path("/tmp/u23-shots")


def shot(page, name: str, at=None) -> None:
    """A screenshot for a person to look at (the app scrolls inside its own container: show ``at`` first)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if at is not None:
        at.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_a_queued_run_says_behind_whom_from_its_first_poll_and_cancels_at_once(page, server, fos_home):
    import threading

    from bench.device import resolve_device
    from bench.runs.queue import device_slot

    held, release = threading.Event(), threading.Event()

    def other_run():  # another run holds the device, as in tests/bench/test_cli.py
        with device_slot(fos_home / "locks", str(resolve_device("auto")), "other-run"):
            held.set()
            release.wait(timeout=120)

    holder = threading.Thread(target=other_run)
    holder.start()
    try:
        assert held.wait(timeout=30)
        page.goto(f"{server}/validation")
        fill_run(page, examples="100", seconds="5", arms=("Train from scratch",))
        first = page.get_by_text(re.compile(r"Queued behind run|trials finished|Starting:")).first
        first.wait_for()
        assert "Queued behind run other-run" in first.inner_text()  # never "0 of 1 trials finished" first
        clicked = time.time()
        page.get_by_role("button", name="Cancel run").click()
        page.get_by_role("button", name="Cancelling…").wait_for(timeout=5_000)
        shot(page, "cancelling", page.get_by_role("button", name="Cancelling…"))
        page.get_by_text("Cancelled before any trial finished").wait_for(timeout=30_000)
        assert time.time() - clicked < 10
        page.get_by_role("button", name="Cancelling…").wait_for(state="detached", timeout=10_000)
    finally:
        release.set()
        holder.join(timeout=30)


def whole(label) -> bool:
    """No box from the label up to its widget clips it (an ellipsis cut "Needs a custom archit...")."""
    return label.first.evaluate(
        """e => { for (let n = e; n && n.tagName !== 'FORM'; n = n.parentElement) {
                    const style = getComputedStyle(n);
                    if (n.scrollWidth > n.clientWidth + 1 && (style.overflow !== 'visible' ||
                        style.textOverflow === 'ellipsis')) return false;
                    if (n.tagName === 'LABEL') return true; }
                  return true; }"""
    )


def test_at_800_px_the_trials_table_keeps_every_column(browser, server, fos_home):
    from tests.app.store_writer import write_finished_run

    run_id = write_finished_run(fos_home / "runs.db")
    context, page = open_app(browser, server, width=800)
    try:
        page.goto(f"{server}/validation?run={run_id}")
        table = page.locator("[data-testid=stTable]").first
        table.wait_for()
        edge = table.bounding_box()
        assert edge["x"] + edge["width"] <= 800, edge
        for column in ("Arm", "Test accuracy", "Macro-F1", "Training s", "Images/s"):
            box = table.locator("th", has_text=column).first.bounding_box()  # whole, inside the visible table
            assert box is not None and box["x"] + box["width"] <= edge["x"] + edge["width"] + 1, (column, box, edge)
        page.get_by_role("cell", name="1,234").first.wait_for()  # Images/s, whole
        page.get_by_text("The plan, before training").wait_for()
        shot(page, "trials-800px")
        page.goto(f"{server}/history")
        page.get_by_role("heading", name="History").wait_for()
        runs = page.locator("[data-testid=stTable]").first
        runs.wait_for()
        edge = runs.bounding_box()
        assert edge["x"] + edge["width"] <= 800, edge
        # No sideways scroll: no box of the table is wider inside than it shows (inline boxes have no width).
        assert runs.evaluate(
            "e => [e, ...e.querySelectorAll('*')].every(n => !n.clientWidth || n.scrollWidth <= n.clientWidth + 1)"
        )
        for column in ("Run", "Started", "Dataset", "Status", "Verdict", "Duration", "Settings"):
            header = runs.locator("th", has_text=column).first
            box = header.bounding_box()  # inside the visible table, its label not clipped
            assert box is not None and box["x"] + box["width"] <= edge["x"] + edge["width"] + 1, (column, box, edge)
            assert header.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), column
        runs.get_by_text(re.compile(r"Budget per trial: 5 s .* Device: cpu \(test\)")).first.wait_for()  # kept
        assert whole(page.get_by_text("Only this session's"))
        shot(page, "history-800px", runs)
        page.goto(server)
        page.get_by_text("Needs a custom architecture").wait_for()
        assert whole(page.get_by_text("Needs a custom architecture"))
        shot(page, "questionnaire-800px")
        page.set_viewport_size({"width": 1400, "height": 1000})
        shot(page, "questionnaire-1400px")
    finally:
        context.close()


def test_the_plan_shows_on_the_form_and_one_click_takes_its_budget(page, server):
    page.goto(f"{server}/validation")
    page.get_by_role("button", name="Start run").wait_for()
    choose(page, "Built-in dataset", "digits")
    page.get_by_text("1,797 images in 10 classes").wait_for()
    page.get_by_role("spinbutton", name="Seconds of training per trial").fill("1")
    page.get_by_role("button", name="Plan this run").click()
    accept = page.get_by_role("button", name=re.compile(r"^Use \d+ s per trial$"))
    accept.wait_for(timeout=60_000)
    seconds = re.search(r"\d+", accept.inner_text()).group()
    shot(page, "plan-on-form", accept)
    accept.click()
    wait_for_input(page, "Seconds of training per trial", seconds)


def test_a_text_run_on_a_built_in_text_set_ends_in_a_verdict_worded_for_texts(page, server):
    """code-snippets (624 texts), the two cheapest arms that decide: the probe on frozen embeddings and scratch."""
    page.goto(f"{server}/validation")
    fill_run(page, examples="40", seconds="1", dataset="code-snippets", size="624 texts in 4 classes")
    run_id = run_id_of(page)
    page.get_by_text("See the verdict").wait_for(timeout=300_000)
    table = page.locator("[data-testid=stTable]").first
    for column in ("Arm", "Test accuracy", "Sentences/s"):  # the trials table, in the data's own unit
        table.locator("th", has_text=column).first.wait_for()
    assert table.locator("th", has_text="Images/s").count() == 0
    rates = table.locator("tbody tr td:last-child").all_inner_texts()
    assert len(rates) == 2 and all(re.fullmatch(r"[\d,]+", rate) for rate in rates), rates  # whole sentences/s
    assert page.get_by_text("Unlabeled images").count() == 0  # the text hybrid takes no pool of images
    shot(page, "text-run-1400px", table)
    page.get_by_text("See the verdict").click()
    page.get_by_role("heading", name="Verdict").wait_for()
    assert f"run={run_id}" in page.url
    page.get_by_text(re.compile(r"^(CONFIRMED|CONTRADICTED|INCONCLUSIVE|NOT DECIDED)")).first.wait_for()
    words = page.locator("[data-testid=stMain]").inner_text()
    assert "Sentence encoder: all-minilm-l6-v2" in words and "Tokens read per text" in words, words  # the run card
    assert not re.search(r"image|img/s|\bpx\b|pixel", words, re.IGNORECASE), words  # never an image word
    assert page.locator("[data-testid=stException]").count() == 0
    shot(page, "text-verdict-1400px")
