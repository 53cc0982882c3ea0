"""What a visitor may see: published runs only, no uploads, and messages without paths or tracebacks.

The owner sees everything. For a visitor (ui.roles), the pages pass what they list and show
through here:
- runs: only those with a published checkpoint (ui.publishing.published_runs); an unpublished
  run's title, dataset and progress stay the owner's business;
- datasets: the built-in ones; uploads are never listed (their names are the owner's files), nor
  shown (a published run's Monitor shows its samples, not the uploaded images it learnt from);
- text from errors and logs: file-system paths become their last part and tracebacks are cut.
"""

from __future__ import annotations

import re
from typing import Iterable, TypeVar

from . import roles

T = TypeVar("T")

# an absolute path: /a/b..., ~/a..., C:\a\... (at least one separator after the root)
_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(=:\[,]))(?:[A-Za-z]:\\|~?/)(?:[^\s'\"()\[\],:]+[/\\])*([^\s'\"()\[\],:/\\]*)")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\):.*?(?=^\S|\Z)", re.S | re.M)
_FRAME = re.compile(r"^\s*File \".*$\n?", re.M)


def scrub(text: str) -> str:
    """`text` with tracebacks removed and absolute paths shortened to their last part."""
    text = _TRACEBACK.sub("", str(text))
    text = _FRAME.sub("", text)
    return _PATH.sub(lambda m: m.group(1) or "…", text).strip()


def shown(text: str) -> str:
    """Text as the caller may see it: as is for the owner, scrubbed for a visitor."""
    return str(text) if roles.can_write() else scrub(text)


def error_line(exc: BaseException) -> str:
    """An exception as one line for the page (its type only when it has no message)."""
    return shown(str(exc) or type(exc).__name__)


def visible_runs(runs: Iterable[T]) -> list[T]:
    """The runs (anything with a `.name`) the caller may see: all for the owner, published ones for a visitor."""
    runs = list(runs)
    if roles.can_write():
        return runs
    from .publishing import published_runs

    shared = published_runs()
    return [r for r in runs if getattr(r, "name", None) in shared]


def visible_choices(choices: Iterable[T]) -> list[T]:
    """Dataset choices (anything with a `.key`) the caller may see: uploads are the owner's only."""
    choices = list(choices)
    if roles.can_write():
        return choices
    return [c for c in choices if not str(getattr(c, "key", "")).startswith("upload:")]


def may_show_dataset(source: str) -> bool:
    """Whether the caller may see a dataset's images: the owner any, a visitor built-in ones only."""
    if roles.can_write():
        return True
    from .doctor_view import is_upload

    return not is_upload(source)
