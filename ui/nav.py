"""Make every page run inside studio.py's `st.navigation`.

Streamlit decides once per server process whether the app is in its legacy `pages/` folder
mode (a `pages/` folder next to the main script) and leaves it only when a script calls
`st.navigation`. So the very first request of a fresh server, when it deep-links to a page
(a reload of /monitor, a bookmark), runs pages/monitor.py on its own: without studio.py's
page config, navigation sections and sidebar. Pages call `through_studio()` first; in legacy
mode it builds the studio's navigation and sidebar right there (which also switches the
process to navigation mode for every later request), then the page renders as usual.
"""

from __future__ import annotations


def through_studio() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        import streamlit as st

        from .studio_nav import build

        build()
        # the first run of a deep link happened in legacy pages mode, whose widget ids differ from
        # navigation mode's: run again now, or the user's first click on this page is lost
        st.rerun()
