"""End to end in a real browser: `GAN_STUDIO_OWNER_PASSWORD=... streamlit run app.py`.

A visitor finds no usable Start training, no uploader, no Publish/Delete/Stop, sees only the
published run, and a working Explore panel; a wrong password leaves it so; the right one enables
everything; signing out locks it again. Screenshots under test-artifacts/ (roles_*.png).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from app_helpers import ROOT, wait_until
from e2e_servers import fresh_page, headless_browser, serve
from forwarding_proxy import forwarding_proxy
from test_e2e_app import ARTIFACTS, button, nav, seen, settle

pytestmark = pytest.mark.slow  # a real browser against a real server

PASSWORD = "e2e-owner-passphrase"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(1, 1)
    page.wait_for_timeout(600)
    page.screenshot(path=str(ARTIFACTS / f"roles_{name}.png"), full_page=True)


def prepare_runs(home: Path, sleeper_pid: int) -> None:
    """A running run that is published (visitors see it) and a finished one that is not (they don't)."""
    env = dict(os.environ, GAN_STUDIO_HOME=str(home))
    script = f"""
import shutil, time
from pathlib import Path
from gan_core.config import build_run_config
from gan_core.runs import RunDir
from ui import paths, publishing
for name, state, pid in (("shared-run", "running", {sleeper_pid}), ("private-run", "finished", None)):
    rd = RunDir(paths.runs_dir() / name)
    rd.create(build_run_config({{"data.source": "mnist", "train.steps": 1000}}))
    rd.write_app_meta({{"title": name, "created": time.time(), "dataset_label": "mnist", "launches": []}})
    if pid:
        rd.record_launch(pid, time.time() - 5, "start", 1000)
    rd.write_status(state, step=500 if pid else 1000, total_steps=1000, pid=pid)
    for which in ("latest", "best"):
        shutil.copytree(Path("checkpoints/mnist-dcgan"), rd.checkpoint(which))
publishing.publish("shared-run", "shared-model")
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


@contextlib.contextmanager
def studio(tmp_path: Path, home: Path, args: list[str], env: dict[str, str]) -> Iterator[str]:
    """`streamlit run app.py` with `args` and `env` on a free port (the listen address from `args` or
    .streamlit/config.toml), no sign-in configured but what `env` sets; its URL, killed afterwards."""
    unset = {k: None for k in ("GAN_STUDIO_OWNER_PASSWORD", "SPACE_ID", "SYSTEM")}
    env = {**unset, "GAN_STUDIO_HOME": str(home), "GAN_STUDIO_SECRETS": str(tmp_path / "no-secrets.toml"), **env}
    with serve("studio", env, tmp_path / "server.log", args=args, address=None) as studio:
        yield studio.url


@pytest.fixture
def server(tmp_path: Path):
    """A password-protected studio on loopback (the address from .streamlit/config.toml), with a
    published running run and an unpublished finished one."""
    home = tmp_path / "home"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # the "training"
    try:
        prepare_runs(home, sleeper.pid)
        with studio(tmp_path, home, [], {"GAN_STUDIO_OWNER_PASSWORD": PASSWORD}) as url:
            yield url, home, sleeper
    finally:
        sleeper.kill()
        sleeper.wait()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def page():
    with headless_browser() as browser, fresh_page(browser, 1400, 2000) as pg:
        pg.set_default_timeout(60_000)
        yield pg


def start_button(page):
    return button(page, "Start training on MNIST digits")


def sidebar_button(page, label: str):
    return page.locator('[data-testid="stSidebar"] [data-testid^="stBaseButton"]', has_text=label).filter(
        visible=True).first


def visible_buttons(page, label: str) -> int:
    return page.locator('[data-testid^="stBaseButton"]', has_text=label).filter(visible=True).count()


def check_locked(page, tag: str) -> None:
    """Every write control is gone or disabled, as a visitor must see it."""
    nav(page, "Train")
    start_button(page).wait_for()
    settle(page)
    assert start_button(page).is_disabled() and button(page, "Estimate time").is_disabled()
    seen(page, "Visitors cannot time or start trainings").wait_for()
    shot(page, f"{tag}_train")
    nav(page, "Data")
    seen(page, "Where are the images?").wait_for()
    settle(page)
    assert page.locator('[data-testid="stRadioOption"]', has_text="Upload a .zip").count() == 0
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    nav(page, "Runs")
    seen(page, "Manage a run").wait_for()
    settle(page)
    assert visible_buttons(page, "Publish") == 0 and visible_buttons(page, "Delete run") == 0
    assert page.get_by_text("private-run").count() == 0  # not published: not listed
    seen(page, "Visitors cannot publish, unpublish or delete runs").wait_for()
    nav(page, "Monitor")
    seen(page, "shared-run").wait_for()
    settle(page)
    assert visible_buttons(page, "Stop") == 0 and visible_buttons(page, "Force stop") == 0


def test_visitor_wrong_password_owner_and_sign_out_in_a_browser(server, page) -> None:
    url, home, sleeper = server
    try:
        journey(url, home, page)
    except BaseException:
        shot(page, "failure")
        raise
    assert sleeper.poll() is None  # nothing the visitor did stopped the "training"


def journey(url: str, home: Path, page) -> None:
    # the visitor: the banner, read-only pages, the published run only, a working Explore panel
    page.goto(url)
    seen(page, "Train a GAN on").wait_for()
    seen(page, "Visitor view").wait_for()
    page.get_by_label("Owner password").wait_for()
    shot(page, "01_visitor_home")
    check_locked(page, "02_visitor")
    shot(page, "03_visitor_monitor")
    nav(page, "Explore")
    frame = page.frame_locator("iframe").first
    frame.locator(".gradio-container").first.wait_for(timeout=90_000)
    frame.locator("img").first.wait_for(timeout=90_000)  # the panel rendered an image
    shot(page, "04_visitor_explore")

    # a wrong password: "Wrong password", still a visitor
    page.get_by_label("Owner password").fill("not-the-password")
    sidebar_button(page, "Sign in").click()
    seen(page, "Wrong password").wait_for()
    settle(page)
    shot(page, "05_wrong_password")
    check_locked(page, "06_after_wrong_password")

    # the right one: every control is back
    page.get_by_label("Owner password").fill(PASSWORD)
    sidebar_button(page, "Sign in").click()
    seen(page, "Signed in as the").wait_for()
    settle(page)
    nav(page, "Train")
    start_button(page).wait_for()
    settle(page)
    wait_until(lambda: start_button(page).is_enabled(), timeout=30, what="Start training to be enabled")
    assert page.get_by_text("Visitor view").count() == 0
    shot(page, "07_signed_in_train")
    nav(page, "Data")
    page.locator('[data-testid="stRadioOption"]', has_text="Upload a .zip").click()
    page.locator('[data-testid="stFileUploader"]').wait_for()
    nav(page, "Runs")
    seen(page, "Manage a run").wait_for()
    settle(page)
    # the run came from the Monitor (?run=shared-run) and trains: the owner gets Publish and the Delete panel
    # (whose button waits for the run to stop)
    assert visible_buttons(page, "Publish") >= 1  # (also counts "Unpublish" of the published run)
    assert page.get_by_text("removes the run folder").count() == 1
    assert page.get_by_text("private-run").count() > 0  # the owner sees every run
    nav(page, "Monitor")
    seen(page, "shared-run").wait_for()
    button(page, "Stop").wait_for()
    shot(page, "08_signed_in_monitor")

    # sign out: locked again
    sidebar_button(page, "Sign out").click()
    page.get_by_label("Owner password").wait_for()
    settle(page)
    shot(page, "09_signed_out")
    check_locked(page, "10_signed_out")


def test_a_studio_on_every_address_without_a_sign_in_is_visitor_only(tmp_path: Path, page) -> None:
    """No password, no [auth], `--server.address 0.0.0.0`: the banner says how to enable the owner,
    and nothing can be changed."""
    with studio(tmp_path, tmp_path / "home", ["--server.address", "0.0.0.0"], {}) as url:
        page.goto(url)
        seen(page, "Visitor mode.").wait_for()
        seen(page, "GAN_STUDIO_OWNER_PASSWORD").wait_for()
        assert page.get_by_label("Owner password").count() == 0  # there is nothing to sign in with
        shot(page, "11_every_address_no_sign_in")
        nav(page, "Train")
        start_button(page).wait_for()
        settle(page)
        assert start_button(page).is_disabled()


def test_a_local_studio_reached_through_a_proxy_is_visitor_only(tmp_path: Path, page) -> None:
    """A studio on 127.0.0.1 with no sign-in is open to this computer, but not to a session relayed
    by a tunnel or reverse proxy (its request carries X-Forwarded-For): here a real relay in front of
    it (`forwarding_proxy`), since the browser's own extra headers never reach the WebSocket."""
    with studio(tmp_path, tmp_path / "home", [], {}) as url:
        page.goto(url)
        seen(page, "Train a GAN on").wait_for()
        settle(page)
        assert page.get_by_text("Visitor mode").count() == 0  # this computer: the owner, no prompt
        with forwarding_proxy(urlsplit(url).port, "203.0.113.9") as relayed:
            page.goto(relayed)
            seen(page, "Visitor mode.").wait_for()
            shot(page, "12_local_studio_through_a_proxy")
