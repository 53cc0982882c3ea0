"""The import direction: gan_core never imports a UI package nor names the app above it, and
importing it does no work."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI = ("streamlit", "gradio", "plotly", "altair", "fastapi", "uvicorn")
# the layers above the library: its entry points and app packages (and the benchmarks)
APP = ("ui", "pages", "bench", "app", "studio", "gradio_app")
# how source text names them: as modules, files, folders or `python -m` targets
APP_NAMED = {
    "gradio_app": r"\bgradio_app\b",
    "app.py": r"\bapp\.py\b",
    "studio.py": r"\bstudio\.py\b",
    "pages/": r"\bpages[/.]\w",
    "ui/": r"(?<![\w-])ui[/.]\w",
    "bench": r"\bbench\b",
}


def _gan_core_sources() -> list[Path]:
    files = sorted((ROOT / "gan_core").rglob("*.py"))
    assert len(files) >= 20
    return files


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            roots.add((node.module or "").split(".")[0])
    return roots


def test_gan_core_imports_no_ui_package_nor_the_app() -> None:
    code = (
        "import sys, pkgutil, importlib, gan_core\n"
        "mods = [m.name for m in pkgutil.walk_packages(gan_core.__path__, 'gan_core.')]\n"
        "for m in mods: importlib.import_module(m)\n"
        f"bad = sorted(k for k in sys.modules if k.split('.')[0] in {UI + APP!r})\n"
        "print(len(mods), bad)\n"
        "assert not bad, bad\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[0]) >= 15  # every module was really imported


def test_gan_core_source_never_imports_a_ui_package_or_the_app() -> None:
    for path in _gan_core_sources():
        bad = _imported_roots(path) & set(UI + APP)
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_gan_core_source_never_names_the_entry_points_or_app_packages() -> None:
    """Not even in a string: the library never starts (`subprocess`, `python -m`, a file path) or
    points users at the layers above it; they may call it, not the other way round."""
    for path in _gan_core_sources():
        text = path.read_text(encoding="utf-8")
        for name, pattern in APP_NAMED.items():
            hit = re.search(pattern, text)
            assert hit is None, (f"{path.relative_to(ROOT)} names {name}: "
                                 f"{text[max(0, hit.start() - 40):hit.end() + 40]!r}")


def test_the_naming_rule_catches_what_it_forbids() -> None:
    """The patterns find real references and leave ordinary words alone."""
    caught = ['subprocess.run([sys.executable, "gradio_app.py"])', "see ui/paths.py", "from ui.catalog import x",
              'cmd = ["python", "-m", "bench", "train"]', "import pages.home", "streamlit run app.py",
              "python studio.py"]
    for text in caught:
        assert any(re.search(p, text) for p in APP_NAMED.values()), text
    for text in ["GAN Studio", "gan-studio-judge", "memory pages stay mapped", "a benchmark's seed step",
                 "build a guide", "quiet/loud"]:
        assert not any(re.search(p, text) for p in APP_NAMED.values()), text


def test_entry_points_and_pages_go_through_ui_adapters() -> None:
    """Pages and entry points never import torch or gan_core directly: they call ui/ adapters."""
    files = [ROOT / "app.py", ROOT / "studio.py", ROOT / "gradio_app.py", *sorted((ROOT / "pages").glob("*.py"))]
    assert len(files) >= 9
    for path in files:
        for name in _imported_roots(path):
            assert name not in ("torch", "gan_core", "numpy"), f"{path.name} imports {name}"
