"""Streamlit caches around the slow adapters (doctor reports, gallery grids, real previews).

Pages call these instead of the adapters so results survive reruns and page switches; the
keys carry a content stamp, so a changed upload or checkpoint is never served stale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st


@st.cache_data(show_spinner=False, max_entries=16)
def doctor_report(source: str, stamp: str, image_size: int) -> Any:
    """gan_core's DatasetReport for a source (stamp: ui.doctor_view.source_stamp)."""
    from .doctor_view import diagnose

    return diagnose(source, image_size)


@st.cache_data(show_spinner=False, max_entries=64)
def gallery(name: str, weights_hash: str) -> tuple[np.ndarray, dict[str, Any]]:
    from .gallery import gallery_grid

    return gallery_grid(name)


@st.cache_data(show_spinner=False, max_entries=8)
def real_grid(source: str, image_size: int, channels: int) -> np.ndarray | None:
    from .live import real_preview

    return real_preview(source, image_size, channels)


@st.cache_resource(show_spinner=False)
def device_summary() -> dict[str, Any]:
    from gan_core.device import device_summary as _summary

    return _summary()
