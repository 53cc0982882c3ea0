"""Shared command-line plumbing: user errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import sys
from typing import Callable

from .errors import GanStudioError, TrainingError


ERROR_PREFIX = "error: "  # how a CLI's one-line user error starts on stderr


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    try:
        return main(argv)
    except TrainingError as e:
        print(f"{ERROR_PREFIX}{e}", file=sys.stderr)
        return 1
    except GanStudioError as e:
        print(f"{ERROR_PREFIX}{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def error_line(output: str) -> str:
    """The one-line reason in a CLI's console output: its last `error: ...` line, else the last
    line that is not part of a traceback's stack (for a crash: the exception line), else ""."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith(ERROR_PREFIX):
            return ln[len(ERROR_PREFIX):]
    for ln in reversed(lines):
        if not ln.startswith(("Traceback", "File ")):
            return ln
    return ""


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


def add_config_flags(parser) -> None:
    """One flag per RunConfig option, generated from the dataclass fields (gan_core.config.options):
    `--` + the field's name with dashes, its help, choices and default from the field's metadata.
    The groups are the config's sections. Every flag's default is None, so `given_options` can
    tell a flag given from one left out (a preset or a resumed run's own value then stands)."""
    import argparse

    from .config import SECTIONS, options

    groups = {s: parser.add_argument_group(s) for s in SECTIONS}
    for o in options():
        shown = o.default_text or ("on" if o.default is True else "off" if o.default is False else o.default)
        text = f"{o.help} (default {shown})" if shown not in ("", "-") else o.help
        group = groups[o.key.split(".")[0]]
        if o.type is bool:
            group.add_argument(o.flag, *o.aliases, dest=o.key, action=argparse.BooleanOptionalAction,
                               default=None, help=text)
            for alias in o.off_aliases:
                group.add_argument(alias, dest=o.key, action="store_const", const=False, default=None,
                                   help=f"the same as --no-{o.flag[2:]}")
        else:
            kind = {int: int, float: fraction, str: str}[o.type]
            group.add_argument(o.flag, *o.aliases, dest=o.key, type=kind, choices=o.choices or None,
                               default=None, help=text, metavar=o.name.upper() if not o.choices else None)


def given_options(args) -> dict:
    """The RunConfig options given on the command line, by dotted name."""
    from .config import option_keys

    return {k: getattr(args, k) for k in option_keys() if getattr(args, k, None) is not None}
