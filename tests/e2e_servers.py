"""Real servers and a real browser for the end-to-end tests: the one way they start, wait and stop.

    with serve("studio", {"GAN_STUDIO_HOME": str(home)}, tmp_path / "studio.log") as s:
        page.goto(s.url)

- `serve("studio", ...)`: `streamlit run app.py` (headless, no usage stats, no file watcher) on a free
  port, on 127.0.0.1 unless `address=None` (then .streamlit/config.toml decides);
- `serve("gradio", ...)`: `python gradio_app.py` (or `script`, a file that runs it after changing
  something) with GRADIO_SERVER_PORT/NAME set;

each with the test's environment on top of this process's (a None value removes a variable), waited
for until its health URL answers (a clear error with the log's end when it exits or does not answer in
time), then stopped with its whole process group (SIGTERM, then SIGKILL). `chromium(playwright)` opens
the project's headless Chromium with the flags the benchmarks use; `headless_browser()` and
`fresh_page()` are the same as context managers; `module_browser` is a module's shared browser as a
fixture (imported by the modules that use it) and `page_fixture(w, h)` makes a `page` fixture on it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from bench.browser import CHROMIUM, CHROMIUM_ARGS
from bench.http import free_port

ROOT = Path(__file__).resolve().parents[1]
Kind = Literal["studio", "gradio"]
HEALTH = {"studio": "/_stcore/health", "gradio": "/config"}
STUDIO_FLAGS = ("--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none")
STARTUP_TIMEOUT_S = 120.0


@dataclass
class Server:
    kind: Kind
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def command(kind: Kind, port: int, address: str | None, args: Sequence[str],
            script: str = "gradio_app.py") -> tuple[list[str], dict[str, str]]:
    """The command line and the extra environment that start `kind` on `port`."""
    if kind == "studio":
        where = ["--server.address", address] if address else []
        return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), *where,
                *STUDIO_FLAGS, *args], {}
    if kind == "gradio":
        return [sys.executable, script, *args], {"GRADIO_SERVER_PORT": str(port),
                                                 "GRADIO_SERVER_NAME": address or "127.0.0.1"}
    raise ValueError(f"unknown server kind {kind!r}: 'studio' or 'gradio'")


def answers(port: int, path: str) -> bool:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            c.request("GET", path)
            return c.getresponse().status == 200
        finally:
            c.close()
    except OSError:
        return False


def wait_healthy(server: Server, timeout: float = STARTUP_TIMEOUT_S) -> None:
    path = HEALTH[server.kind]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.proc.poll() is not None:
            raise RuntimeError(f"the {server.kind} server exited with code {server.proc.returncode} before "
                               f"answering on {path}; its log ends:\n{server.log_tail()}")
        if answers(server.port, path):
            return
        time.sleep(0.3)
    raise RuntimeError(f"the {server.kind} server did not answer on {server.url}{path} within {timeout:.0f} s; "
                       f"its log ends:\n{server.log_tail()}")


def stop(proc: subprocess.Popen[bytes], grace_s: float = 20.0) -> None:
    """The server and every process it started (its own process group): SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except ProcessLookupError:
        proc.wait()
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# Gradio's launch() asks its own URL once (3 s timeout) and exits when that fails: on a loaded machine
# it sometimes does; such a start is tried again, once
BUSY_START = "When localhost is not accessible"


def start(kind: Kind, env: Mapping[str, str | None], log: Path, args: Sequence[str], address: str | None,
          timeout: float, script: str) -> Server:
    """`kind` started and healthy (or a RuntimeError, the process stopped)."""
    port = free_port()
    cmd, extra = command(kind, port, address, args, script)
    merged = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False", **extra, **env}
    full_env = {k: v for k, v in merged.items() if v is not None}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(kind, port, proc, log)
    try:
        wait_healthy(server, timeout)
    except BaseException:
        stop(proc)
        raise
    return server


@contextlib.contextmanager
def serve(kind: Kind, env: Mapping[str, str | None], log: Path, args: Sequence[str] = (),
          address: str | None = "127.0.0.1", timeout: float = STARTUP_TIMEOUT_S,
          script: str = "gradio_app.py") -> Iterator[Server]:
    """`kind` on a free port with `env` over this process's environment, healthy; stopped on exit."""
    try:
        server = start(kind, env, log, args, address, timeout, script)
    except RuntimeError as e:
        if BUSY_START not in str(e):
            raise
        server = start(kind, env, log, args, address, timeout, script)
    try:
        yield server
    finally:
        stop(server.proc)


def chromium(playwright: Any) -> Any:
    """The project's headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM_PATH)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def headless_browser() -> Iterator[Any]:
    """Playwright and the project's Chromium, closed on exit (a module's shared browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def sibling_browser(browser: Any, args: Sequence[str]) -> Iterator[Any]:
    """Another Chromium with other flags, started by `browser`'s Playwright (one per thread), closed on exit."""
    other = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=list(args))
    try:
        yield other
    finally:
        other.close()


@contextlib.contextmanager
def fresh_page(browser: Any, width: int, height: int) -> Iterator[Any]:
    """A new page of `browser` with this viewport, closed on exit."""
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        yield page
    finally:
        page.close()


@pytest.fixture(scope="module")
def module_browser() -> Iterator[Any]:
    """One headless Chromium for a test module (import this fixture into the module)."""
    with headless_browser() as browser:
        yield browser


def page_fixture(width: int, height: int) -> Any:
    """A function-scoped `page` fixture: a fresh page of `module_browser` with this viewport
    (in a test module: `page = page_fixture(1400, 1600)`)."""

    @pytest.fixture
    def page(module_browser: Any) -> Iterator[Any]:
        with fresh_page(module_browser, width, height) as pg:
            yield pg

    return page
