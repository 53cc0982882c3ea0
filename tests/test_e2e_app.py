"""End to end in a real browser: `streamlit run app.py`, upload a zip, train, watch, stop, resume, publish.

Playwright drives Debian's /usr/bin/chromium (CI installs it with apt). Screenshots of every
stage are saved under test-artifacts/ (e2e_*.png).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from app_helpers import ROOT, image_zip, kill_runs, wait_until
from e2e_servers import fresh_page, headless_browser, serve

from gan_core.runs import RunDir, pid_alive

pytestmark = pytest.mark.slow  # a real browser against a real server

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def server(tmp_path: Path):
    """A real `streamlit run app.py` on a free port with its own app home; killed afterwards along
    with every training it started."""
    home, shipped = tmp_path / "home", tmp_path / "shipped"
    shipped.mkdir()
    try:
        with serve("studio", {"GAN_STUDIO_HOME": str(home), "GAN_STUDIO_SHIPPED": str(shipped)},
                   tmp_path / "server.log") as studio:
            yield studio.url, home
    finally:
        kill_runs(home)


@pytest.fixture
def page():
    with headless_browser() as browser, fresh_page(browser, 1400, 2600) as pg:  # tall: whole pages in shots
        pg.set_default_timeout(60_000)
        yield pg


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(1, 1)  # no tooltip over the page
    page.wait_for_timeout(600)  # let charts and images finish drawing
    page.screenshot(path=str(ARTIFACTS / f"e2e_{name}.png"), full_page=True)


def seen(page, what):
    """The first visible element with this text (Streamlit keeps hidden copies of some labels,
    e.g. for tooltips, and stale copies for a moment while a page reruns)."""
    return page.get_by_text(what).filter(visible=True).first


def nav(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=label).click()


def button(page, label: str):
    # a button's text may start with its Material icon's ligature name ("play_arrow")
    pattern = re.compile(rf"^\s*([a-z_]+\s*)?{re.escape(label)}\s*$")
    # Streamlit keeps a hidden copy of buttons that have a tooltip: only the visible one counts
    return page.locator('[data-testid^="stBaseButton"]', has_text=pattern).filter(visible=True).first


def progress_step(page) -> tuple[int, int] | None:
    bars = page.locator('[data-testid="stProgress"]')
    if not bars.count():
        return None
    m = re.search(r"step ([\d,]+) / ([\d,]+)", bars.first.inner_text())
    return (int(m[1].replace(",", "")), int(m[2].replace(",", ""))) if m else None


def chart_steps(page) -> list[int]:
    """The x values (steps) of the loss chart's first trace, read from plotly in the page."""
    xs = page.evaluate("""() => {
        const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
        const loss = plots.find(p => p.layout && p.layout.title && /Losses/.test(p.layout.title.text || ''));
        return loss && loss.data && loss.data.length ? Array.from(loss.data[0].x) : [];
    }""")
    return [int(x) for x in xs]


def test_upload_train_watch_stop_resume_publish_in_a_browser(server, page, tmp_path: Path) -> None:
    try:
        journey(server, page, tmp_path)
    except BaseException as exc:
        shot(page, "failure")  # what the page showed when the test gave up
        report = diagnose(page, server[1], tmp_path)
        (ARTIFACTS / "e2e_failure.txt").write_text(report, encoding="utf-8")
        raise AssertionError(f"{exc}\n--- what the app and its runs said ---\n{report}") from exc


def diagnose(page, home: Path, tmp_path: Path) -> str:
    """The page's progress text, each run's status, launches and log tail, and the server log's
    tail: what a failed browser journey needs to be understood from CI's output alone."""

    out = []
    try:
        bars = page.locator('[data-testid="stProgress"]')
        out.append(f"progress bars on the page: {bars.count()}"
                   + (f", first: {bars.first.inner_text(timeout=2000)!r}" if bars.count() else ""))
    except Exception as e:  # the page itself may be what broke
        out.append(f"page unreadable: {e}")
    for run in sorted((home / "runs").glob("*/")):
        alive = [(la.get("pid"), pid_alive(la.get("pid"))) for la in RunDir(run).read_app_meta().get("launches", [])]
        status = RunDir(run).read_status() or "(none)"
        out.append(f"run {run.name}: status {status}; launches (pid, alive) {alive}; {time.time():.1f} now\n  "
                   + RunDir(run).log_tail(8).replace("\n", "\n  "))
    server_log = tmp_path / "server.log"
    if server_log.is_file():
        out.append("server log tail:\n" + "\n".join(server_log.read_text(errors="replace").splitlines()[-30:]))
    return "\n".join(out)


def settle(page, timeout: float = 60.0) -> None:
    """Wait until the script runs an action started have finished. Acting on the page while an
    earlier run is still streaming its elements can lose input: in one CI run the Steps field went
    back to the preset's 300 after 100,000 had been typed (most likely a late element from the
    preset's run), and the training ran 300 steps."""
    app = page.locator('[data-testid="stApp"]')
    page.wait_for_timeout(400)  # the rerun request reaches the server and the state flips

    def idle_twice() -> bool:
        if app.get_attribute("data-test-script-state") != "notRunning":
            return False
        page.wait_for_timeout(250)
        return app.get_attribute("data-test-script-state") == "notRunning"

    wait_until(idle_twice, timeout=timeout, what="the app's script run to finish")


def open_zip_upload(page, url: str, data_page_says: str) -> None:
    """Home first (the server's first page run: a deep link as the very first request loses its first
    click, see the report of issue 20), then the Data page by a deep link (waiting for
    `data_page_says`), switched to zip upload and settled, ready for the file."""
    page.goto(url)
    seen(page, "Train a GAN on").wait_for(timeout=120_000)
    settle(page)
    page.goto(f"{url}/data")
    seen(page, data_page_says).wait_for(timeout=120_000)
    settle(page)
    page.wait_for_timeout(1000)  # hydrated before input (DESIGN §5)
    page.locator('[data-testid="stRadioOption"]', has_text="Upload a .zip").click()


def text(pattern: str):
    """A case-sensitive text match (get_by_text with a string ignores case and would also match
    the training log's lines)."""
    return re.compile(re.escape(pattern))


def journey(server, page, tmp_path: Path) -> None:
    url, home = server
    zip_path = tmp_path / "shapes.zip"
    zip_path.write_bytes(image_zip({"circles": 10, "squares": 10}, size=24))

    # Home
    page.goto(url)
    seen(page, "Train a GAN on").wait_for()
    shot(page, "01_home")

    # Data: upload the zip, the doctor reports on it
    nav(page, "Data")
    seen(page, "Where are the images?").wait_for()
    page.locator('[data-testid="stRadioOption"]', has_text="Upload a .zip").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(zip_path))
    seen(page, text("Saved as")).wait_for()
    seen(page, "Dataset doctor · shapes (uploaded)").wait_for()
    metrics = page.locator('[data-testid="stMetric"]')
    wait_until(lambda: "20" in metrics.first.inner_text(), timeout=30, what="the image count")
    assert "Classes" in metrics.nth(1).inner_text() and "2" in metrics.nth(1).inner_text()
    shot(page, "02_data_doctor")

    # Train: the tiny preset, ACGAN, many steps (we stop it ourselves)
    button(page, "Use this dataset for training →").click()
    seen(page, "Start training").wait_for()
    page.locator('[data-testid="stSelectbox"]', has_text="Preset").click()
    page.get_by_role("option", name="Tiny smoke test").click()
    seen(page, "A tiny model (widths 8").wait_for()
    settle(page)
    page.locator('[data-testid="stRadioOption"]', has_text="ACGAN").click()
    settle(page)
    steps = page.locator('[data-testid="stNumberInput"] input[aria-label="Steps"]')
    steps.fill("100000")
    steps.press("Enter")
    settle(page)
    assert steps.input_value().replace(",", "") == "100000"
    page.get_by_label("Run name").fill("e2e tiny")
    page.get_by_label("Run name").press("Enter")
    settle(page)
    button(page, "Estimate time").click()  # 20 timed steps in a subprocess
    seen(page, "Estimated time").wait_for(timeout=120_000)
    assert "ms" in page.locator('[data-testid="stMetric"]', has_text="Per step").inner_text()
    # the server's own spec, not just the field's text: the estimate counts the steps it will run
    assert "100,000" in page.locator('[data-testid="stMetric"]', has_text="Steps").first.inner_text()
    shot(page, "03_train_form")
    button(page, "Start training on shapes").click()

    # Monitor: the chart shows two different step counts, then stop
    page.get_by_role("heading", name="Monitor").wait_for()
    seen(page, "e2e tiny").wait_for()
    first = wait_until(lambda: (p := progress_step(page)) and p[0] > 0 and p, timeout=120, what="a first step")
    wait_until(lambda: (p := progress_step(page)) and p[0] > first[0], timeout=60, what="the step to advance")
    xs = wait_until(lambda: len(set(s := chart_steps(page))) >= 2 and s, timeout=60, what="two steps in the chart")
    later = wait_until(lambda: (s := chart_steps(page)) and max(s) > max(xs) and s, timeout=60,
                       what="the chart to move")
    assert len(set(later)) > len(set(xs)) and later == sorted(later)
    seen(page, "Scrub through the grids").wait_for(timeout=60_000)
    shot(page, "04_monitor_running")

    # a reload (a new browser session) re-attaches to the running job from its run folder: the
    # page shows the trainer's progress and keeps following it
    run_dir = home / "runs" / "e2e-tiny"
    before = RunDir(run_dir).read_status()["step"]
    page.reload()
    seen(page, "e2e tiny").wait_for()
    wait_until(lambda: (p := progress_step(page)) and p[1] == 100_000 and p[0] > before and p, timeout=90,
               what=f"the reloaded page to show progress past step {before}")

    button(page, "Stop").click()
    seen(page, text("Stopped at step")).wait_for(timeout=90_000)
    stopped = progress_step(page)
    assert stopped and stopped[0] >= later[-1]
    shot(page, "05_monitor_stopped")
    with page.expect_download() as download:
        button(page, "Export GIF").click()
    gif = ARTIFACTS / "e2e_progress.gif"
    download.value.save_as(gif)
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")

    # Resume a few steps further: it finishes there
    target = stopped[0] + 20
    resume_to = page.locator('[data-testid="stNumberInput"] input[aria-label="Train up to step"]')
    resume_to.fill(str(target))
    resume_to.press("Enter")
    settle(page)
    button(page, "Resume").click()
    seen(page, text("Finished:")).wait_for(timeout=120_000)
    assert progress_step(page) == (target, target)
    seen(page, f"step {target:,} (same noise every time)").wait_for()  # the grid follows the newest
    shot(page, "06_monitor_finished")

    # Runs: the list, then publish under a name
    nav(page, "Runs")
    seen(page, "Manage a run").wait_for()
    name = page.get_by_label("Name", exact=True)
    name.fill("shapes-e2e")
    name.press("Enter")
    settle(page)
    button(page, "Publish").click()
    seen(page, text("Published as")).wait_for()
    shot(page, "07_runs_published")
    assert (home / "published" / "shapes-e2e" / "config.json").is_file()

    # Home: the gallery shows the published checkpoint
    nav(page, "Home")
    seen(page, "shapes-e2e").wait_for()
    page.locator('[data-testid="stImage"]').first.wait_for()
    shot(page, "08_home_gallery")
