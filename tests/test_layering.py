"""The import direction: gan_core never imports a UI package, and importing it does no work."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI = ("streamlit", "gradio", "plotly", "altair", "fastapi", "uvicorn")


def test_gan_core_imports_no_ui_package() -> None:
    code = (
        "import sys, pkgutil, importlib, gan_core\n"
        "mods = [m.name for m in pkgutil.walk_packages(gan_core.__path__, 'gan_core.')]\n"
        "for m in mods: importlib.import_module(m)\n"
        f"bad = sorted(k for k in sys.modules if k.split('.')[0] in {UI!r})\n"
        "print(len(mods), bad)\n"
        "assert not bad, bad\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[0]) >= 15  # every module was really imported


def test_gan_core_source_never_names_a_ui_package() -> None:
    for path in (ROOT / "gan_core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in UI:
            assert f"import {name}" not in text and f"from {name}" not in text, f"{path} imports {name}"
