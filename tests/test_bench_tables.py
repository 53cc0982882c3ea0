"""The measuring scripts' one table and choice helper (scripts/measure_table.py), as
scripts/compare_recipes.py and scripts/eta_check.py print their rows."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scripts(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    """The helper and the two scripts, imported as `python scripts/NAME.py` finds them."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    names = ("measure_table", "compare_recipes", "eta_check")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    return {name: importlib.import_module(name) for name in names}


def test_rows_line_up_under_the_header_and_missing_figures_show_a_dash(scripts: dict[str, ModuleType]) -> None:
    t = scripts["measure_table"]
    cols = [t.Column("run", "run", width=6, left=True), t.Column("FD", "fd", ".2f", 7),
            t.Column("error", "error", "+.1%", 8), t.Column("took", "s", ".1f", 6, "s")]
    head = t.header(cols)
    rows = [t.line(cols, {"run": "a", "fd": 3.14159, "error": -0.0512, "s": 12.0}),
            t.line(cols, {"run": "longer", "fd": 123.4, "error": None, "s": 0.25})]
    assert head.split() == ["run", "FD", "error", "took"]
    assert rows[0].split() == ["a", "3.14", "-5.1%", "12.0s"] and rows[1].split() == ["longer", "123.40", "-", "0.2s"]
    ends = [head.index(c.title) + len(c.title) for c in cols[1:]]  # the right-aligned titles' ends...
    for row in rows:  # ...are where each row's figures end
        assert all(row[e - 1] != " " and (e == len(row) or row[e] == " ") for e in ends), (head, row)


def test_a_function_column_and_an_unknown_choice(scripts: dict[str, ModuleType],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    t = scripts["measure_table"]
    col = t.Column("device", lambda r: f"{r['device']}, {r['threads']} thread(s)", left=True, width=4)
    assert t.line([col], {"device": "cpu", "threads": 1}) == "cpu, 1 thread(s)"  # wider than its column: whole
    p = argparse.ArgumentParser(prog="x")
    assert t.chosen("b,,a", ["a", "b"], p, "case") == ["b", "a"]
    with pytest.raises(SystemExit):
        t.chosen("a,zz", ["a", "b"], p, "case")
    assert "unknown case 'zz'; choose from a, b" in capsys.readouterr().err


def test_both_scripts_print_their_rows_through_it(scripts: dict[str, ModuleType]) -> None:
    t, cmp_, eta = scripts["measure_table"], scripts["compare_recipes"], scripts["eta_check"]
    row = {"run": "r3gan", "steps": 900, "img_per_s": 101.6, "fd": 1.23456, "fd_ratio": 1.8,
           "class_consistency": 0.974, "precision": 0.7, "recall": 0.5, "mem_ratio": 1.05}
    printed = t.line(cmp_.COLUMNS, row)
    assert printed.split() == ["r3gan", "900", "102", "1.235", "1.80", "97.4%", "0.700", "0.500", "1.05"]
    assert t.header(cmp_.COLUMNS).split()[:3] == ["run", "steps", "img/s"]
    failed = t.line(cmp_.COLUMNS, {"run": "acgan", "steps": 0, "error": ["error: no checkpoint"]})
    assert failed.split()[2:] == ["-"] * 7 + ["error:", "no", "checkpoint"]
    r = {"case": "mnist", "steps": 400, "estimate_s": 61.04, "actual_s": 58.0, "error": 0.0524, "estimate_cpu_s": 100.0,
         "actual_cpu_s": 110.0, "cpu_error": None, "estimate_img_s": 900.4, "actual_img_s": 870.0,
         "estimate_overhead_s": 3.0, "device": "cpu", "threads": 1}
    assert t.line(eta.COLUMNS, r).split() == ["mnist", "400", "61.0s", "58.0s", "+5.2%", "100.0s", "110.0s", "-",
                                              "900", "870", "3.0s", "cpu,", "1", "thread(s)"]
    with pytest.raises(SystemExit):
        eta.main(["--cases", "mnist,nope"])
    with pytest.raises(SystemExit):
        cmp_.main(["--out", "unused", "--only", "nope"])
