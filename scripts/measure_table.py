"""What the measuring scripts (compare_recipes.py, eta_check.py) share: the comma-separated choice of
cases on their command line, and the table they print, one aligned line per row as it is measured
(a row can take minutes, so the lines do not wait for each other: the widths are fixed)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Value = str | Callable[[dict[str, Any]], Any]


def chosen(text: str, known: Iterable[str], parser: argparse.ArgumentParser, what: str) -> list[str]:
    """The names in a comma-separated list; the parser exits with a message naming an unknown one."""
    known = list(known)
    names = [s for s in text.split(",") if s]
    for name in names:
        if name not in known:
            parser.error(f"unknown {what} {name!r}; choose from {', '.join(known)}")
    return names


@dataclass(frozen=True)
class Column:
    title: str
    value: Value  # a row's key, or a function of the row
    spec: str = ""  # format spec of the value ("", ".1f", "+.1%", ...)
    width: int = 8
    unit: str = ""  # written after the value ("s")
    left: bool = False  # text columns: aligned left

    def cell(self, row: dict[str, Any]) -> str:
        v = self.value(row) if callable(self.value) else row.get(self.value)
        return self.fit("-" if v is None else format(v, self.spec) + self.unit)

    def fit(self, text: str) -> str:
        return f"{text:<{self.width}}" if self.left else f"{text:>{self.width}}"


def header(columns: list[Column]) -> str:
    return " ".join(c.fit(c.title) for c in columns).rstrip()


def line(columns: list[Column], row: dict[str, Any]) -> str:
    return " ".join(c.cell(row) for c in columns).rstrip()
