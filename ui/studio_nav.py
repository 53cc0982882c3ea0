"""The studio's navigation and sidebar, built by studio.py on every run (and by `ui.nav`)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from . import access, run_views, site_config, visibility
from .display import STATE_ICONS
from .paths import PROJECT_ROOT


def build(root: Path = PROJECT_ROOT) -> st.Page:
    """Page config, the navigation over pages/ and the sidebar's live-jobs list; returns the
    page to run. The Explore page (the Gradio panel) is listed only when its file exists."""
    st.set_page_config(page_title="GAN Studio", page_icon="🎨", layout="wide")
    studio = [
        st.Page(str(root / "pages/home.py"), title="Home", icon=":material/home:", default=True),
        st.Page(str(root / "pages/data.py"), title="Data", icon=":material/photo_library:"),
        st.Page(str(root / "pages/train.py"), title="Train", icon=":material/model_training:"),
        st.Page(str(root / "pages/monitor.py"), title="Monitor", icon=":material/monitoring:"),
        st.Page(str(root / "pages/runs.py"), title="Runs", icon=":material/history:"),
    ]
    play = []
    if (root / "pages" / "explore.py").is_file():
        play.append(st.Page(str(root / "pages/explore.py"), title="Explore", icon=":material/explore:"))
    page = st.navigation({"Studio": studio, "Play": play} if play else {"Studio": studio})
    try:
        access.sidebar()
        access.banner()
    except site_config.SettingsError as exc:  # a broken secrets.toml or setting: say which, run nothing
        st.error(f"The studio's settings cannot be used: {exc}")
        st.stop()
    sidebar()
    return page


def sidebar() -> None:
    """Every page's sidebar: the trainings running now, re-read from the run folders (live
    while any is active); a visitor sees published runs only."""
    with st.sidebar:
        active = bool(visibility.visible_runs(run_views.active_runs()))
        st.fragment(run_every=3.0 if active else None)(_live_jobs)()


def _live_jobs() -> None:
    active = visibility.visible_runs(run_views.active_runs())
    if not active:
        st.caption("No training is running.")
        return
    st.caption("Training now")
    for run in active[:5]:
        pct = f" · {run.progress:.0%}" if run.total_steps else ""
        st.markdown(f"{STATE_ICONS.get(run.state, '')} **{run.title}** — {run.state}{pct}")
    st.page_link(str(PROJECT_ROOT / "pages/monitor.py"), label="Open the monitor", icon=":material/monitoring:")
