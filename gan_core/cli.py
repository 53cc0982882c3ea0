"""Shared command-line plumbing: user errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import sys
from typing import Callable

from .errors import GanStudioError, TrainingError


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    try:
        return main(argv)
    except TrainingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except GanStudioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def help_formatter():
    """argparse formatter that appends "(default: X)" only where X says something: not for
    None (unset, or decided later, as the help text explains) and not for switches' False."""
    import argparse

    class Formatter(argparse.ArgumentDefaultsHelpFormatter):
        def _get_help_string(self, action: argparse.Action) -> str | None:
            if action.default is None or action.default is False or "default" in (action.help or ""):
                return action.help
            return super()._get_help_string(action)

    return Formatter


def positive_int(text: str) -> int:
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def fraction(text: str) -> float:
    import argparse

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    return v
