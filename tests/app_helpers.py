"""Helpers shared by the app tests: an isolated app home, tiny datasets, waiting for jobs."""

from __future__ import annotations

import io
import os
import signal
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# A tiny, never-ending training (stopped by the tests): widths 8, latent 16, batch 8.
TINY = {"model.arch": "dcgan", "model.image_size": 32, "train.batch_size": 8, "model.nz": 16, "model.ngf": 8,
        "model.ndf": 8, "train.ema": 0.999, "train.steps": 100_000, "train.log_every": 2, "train.sample_every": 10,
        "train.ckpt_every": 20, "train.device": "cpu", "train.threads": 1}


def tiny_config(dataset: Any, **options: Any) -> Any:
    """A RunConfig for TINY on `dataset`; `options` by field name ("steps", "arch") override it."""
    from gan_core.config import build_run_config, options as all_options

    by_name = {o.name: o.key for o in all_options()}
    return build_run_config({**TINY, "data.source": str(dataset), **{by_name[k]: v for k, v in options.items()}})


def navigation_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run AppTest like a server that has already served studio.py once.

    AppTest resets Streamlit's process-wide "legacy pages/ folder" flag before every run, so
    each run would start as the very first request of a fresh server (pages run alone until
    ui.nav.through_studio builds the navigation). A live server is in that state only for its
    first request; this keeps AppTest in navigation mode, as a live server is afterwards.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def isolate_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, legacy_first_run: bool = False) -> Path:
    """Point the app at a fresh home folder and an empty shipped-checkpoint folder."""
    import ui.catalog
    import ui.paths

    if not legacy_first_run:
        navigation_mode(monkeypatch)

    home = tmp_path / "home"
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    monkeypatch.setenv("GAN_STUDIO_HOME", str(home))
    monkeypatch.setattr(ui.paths, "SHIPPED_DIR", shipped)
    monkeypatch.setattr(ui.catalog, "SHIPPED_DIR", shipped)
    return home


def image_zip(classes: dict[str, int], size: int = 20, seed: int = 0, extra: dict[str, bytes] | None = None,
              copies: dict[str, str] | None = None) -> bytes:
    """A zip of random PNGs, <class>/<i>.png (class "" = top level), plus extra members and
    `copies` (new member -> existing member whose bytes it repeats)."""
    from PIL import Image

    rng = np.random.RandomState(seed)
    buf = io.BytesIO()
    written: dict[str, bytes] = {}
    with zipfile.ZipFile(buf, "w") as zf:
        for cls, n in classes.items():
            for i in range(n):
                png = io.BytesIO()
                Image.fromarray(rng.randint(0, 256, (size, size, 3), dtype=np.uint8)).save(png, "PNG")
                name = f"{cls}/{i}.png" if cls else f"{i}.png"
                written[name] = png.getvalue()
                zf.writestr(name, written[name])
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
        for name, src in (copies or {}).items():
            zf.writestr(name, written[src])
    return buf.getvalue()


def wait_until(check: Callable[[], Any], timeout: float = 90.0, every: float = 0.4, what: str = "") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or check}")


def kill_runs(home: Path) -> None:
    """Kill every training process a test started under `home` (from the run folders' app.json)."""
    from gan_core.runs import RunDir, pid_alive

    runs = home / "runs"
    if not runs.is_dir():
        return
    for run in runs.iterdir():
        for launch in RunDir(run).read_app_meta().get("launches", []):
            pid = launch.get("pid")
            if pid and pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


def opened(page: str, **params: str) -> Any:
    """An AppTest of a fresh studio session (as after a browser reload) opening `page` with these URL
    query parameters; it must run without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60)
    at.query_params.update(params)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload_shapes(tmp_path: Path) -> str:
    """Upload a set of two class folders of small pictures (6 each) as "shapes"; its choice key."""
    from conftest import write_image_folder

    from ui import uploads

    src = write_image_folder(tmp_path / "src", {"red": 6, "blue": 6})
    saved = uploads.save_files([(str(p.relative_to(src)), p.read_bytes()) for p in sorted(src.rglob("*.png"))],
                               "shapes")
    return f"upload:{saved.name}"
