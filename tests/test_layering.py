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


def test_entry_points_and_pages_go_through_ui_adapters() -> None:
    """Pages and entry points never import torch or gan_core directly: they call ui/ adapters."""
    import ast

    files = [ROOT / "app.py", ROOT / "studio.py", ROOT / "gradio_app.py", *sorted((ROOT / "pages").glob("*.py"))]
    assert len(files) >= 9
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in ("torch", "gan_core", "numpy"), f"{path.name} imports {name}"
