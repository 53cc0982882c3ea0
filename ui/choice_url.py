"""The user's dataset, preset and form values, kept across reloads and navigation.

Two places, one rule each:
- the page's URL carries the essentials (`?dataset=<key>&preset=<name>`), so a reload, a
  bookmark or a shared link opens the Data and Train pages on that choice;
- the studio's last choice (`last_choice.json` in the app's home folder, written atomically by
  the project's `save_json`) carries the Train form's values too, so a reload (or a bare `/train`)
  comes back to the form as the user left it.

What is remembered (`LastChoice`): the dataset key, the preset name, and the form's options by
dotted name (`remembered_values`: every RunConfig option the form shows; not the dataset, which has
its own selector, nor the run's name). The form's values belong to their dataset and preset: they
are restored only when both match, and choosing another dataset forgets them.

Order of trust: the session (what the user picked in this tab) over the URL over the stored
choice. URL and file are only hints: a value is used when it names a dataset or preset offered
right now and the values make a valid config; anything else (unknown, stale, hostile, a torn or
foreign file) is ignored and the pages fall back as without it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from gan_core.config import build_run_config, load_json, options, save_json
from gan_core.errors import ConfigError

from . import paths
from .train_form import NOT_IN_FORM, presets

DATASET = "dataset"
PRESET = "preset"
SESSION_KEY = "dataset_key"
LAST_FILE = "last_choice.json"


@dataclass(frozen=True)
class LastChoice:
    dataset: str | None = None
    preset: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "preset": self.preset, "values": dict(self.values)}


# -- what is remembered ------------------------------------------------------------------------
def remembered_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The form's options worth keeping, by dotted name: known RunConfig options shown by the form."""
    keys = {o.key for o in options()} - set(NOT_IN_FORM)
    return {k: v for k, v in values.items() if k in keys}


def _valid_values(values: Any) -> dict[str, Any]:
    """`values` when they are remembered options that make a valid config together, else {}."""
    if not isinstance(values, dict):
        return {}
    kept = remembered_values(values)
    if not kept:
        return {}
    try:
        build_run_config({**kept, "data.source": "check"})
    except (ConfigError, ValueError, TypeError):
        return {}
    return kept


# -- the stored last choice --------------------------------------------------------------------
def last_path(home: Path | None = None) -> Path:
    return (home or paths.app_home()) / LAST_FILE


def load_last(home: Path | None = None) -> LastChoice:
    """The studio's last choice; an empty one when none is stored or the file is unusable."""
    try:
        raw = load_json(last_path(home), "last choice")
    except (ConfigError, OSError):
        return LastChoice()
    if not isinstance(raw, dict):
        return LastChoice()
    dataset = raw.get("dataset") if isinstance(raw.get("dataset"), str) else None
    preset = raw.get("preset") if dataset and raw.get("preset") in presets.PRESETS else None  # a preset is for its dataset
    return LastChoice(dataset, preset, _valid_values(raw.get("values")) if dataset and preset else {})


def save_last(choice: LastChoice, home: Path | None = None) -> None:
    """Store `choice` as the studio's last choice (atomically; no write when it is stored already)."""
    if load_last(home) == choice:
        return
    path = last_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_json(choice.to_dict(), path)


def values_for(dataset: str, preset: str, home: Path | None = None) -> dict[str, Any]:
    """The remembered form values of this dataset and preset ({} when the last choice was another)."""
    last = load_last(home)
    return dict(last.values) if (last.dataset, last.preset) == (dataset, preset) else {}


# -- the URL -----------------------------------------------------------------------------------
def _url_value(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if isinstance(value, str) else None


def chosen_dataset(keys: Collection[str]) -> str | None:
    """The session's dataset if it is still offered, else the URL's, else the stored last choice's,
    when it names one of `keys` (then it becomes the session's choice), else None."""
    current = st.session_state.get(SESSION_KEY)
    if current in keys:
        return current
    for candidate in (_url_value(DATASET), load_last().dataset):
        if candidate in keys:
            st.session_state[SESSION_KEY] = candidate
            return candidate
    return None


def url_preset() -> str | None:
    """The URL's preset when it names a known preset, else None."""
    name = _url_value(PRESET)
    return name if name in presets.PRESETS else None


def remembered_preset(dataset: str) -> str | None:
    """The preset to reopen for `dataset`: the URL's, else the stored one when it was for this dataset."""
    if named := url_preset():
        return named
    last = load_last()
    return last.preset if last.dataset == dataset else None


def remember_dataset(key: str) -> None:
    """Put the dataset in the URL and the stored choice; a different dataset drops the preset and
    the form values (they were for the old one)."""
    if _url_value(DATASET) != key:
        st.query_params[DATASET] = key
        if PRESET in st.query_params:
            del st.query_params[PRESET]
    last = load_last()
    if last.dataset != key:
        save_last(LastChoice(key))


def remember_preset(name: str) -> None:
    if _url_value(PRESET) != name:
        st.query_params[PRESET] = name


def remember_form(dataset: str, preset: str, values: Mapping[str, Any]) -> None:
    """Store the Train form as the last choice (dataset, preset and the remembered values)."""
    save_last(LastChoice(dataset, preset, remembered_values(values)))
