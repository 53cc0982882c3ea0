"""The chosen dataset and preset kept in the page's URL (`?dataset=<key>&preset=<name>`), so a
reload, a bookmark or a shared link opens the Data and Train pages on the user's choice.

The URL is only a hint: a value is used when it names a dataset or preset offered right now,
anything else (unknown, stale, hostile) is ignored and the pages fall back as without it.
The session's choice (`dataset_key`) wins over the URL once the user has picked something.
"""

from __future__ import annotations

from collections.abc import Collection

import streamlit as st

from .train_form import presets

DATASET = "dataset"
PRESET = "preset"
SESSION_KEY = "dataset_key"


def _url_value(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if isinstance(value, str) else None


def chosen_dataset(keys: Collection[str]) -> str | None:
    """The session's dataset if it is still offered, else the URL's if it names one of `keys`
    (then it becomes the session's choice), else None."""
    current = st.session_state.get(SESSION_KEY)
    if current in keys:
        return current
    from_url = _url_value(DATASET)
    if from_url in keys:
        st.session_state[SESSION_KEY] = from_url
        return from_url
    return None


def url_preset() -> str | None:
    """The URL's preset when it names a known preset, else None."""
    name = _url_value(PRESET)
    return name if name in presets.PRESETS else None


def remember_dataset(key: str) -> None:
    """Put the dataset in the URL; a different dataset drops the URL's preset (it was for the old one)."""
    if _url_value(DATASET) != key:
        st.query_params[DATASET] = key
        if PRESET in st.query_params:
            del st.query_params[PRESET]


def remember_preset(name: str) -> None:
    if _url_value(PRESET) != name:
        st.query_params[PRESET] = name
