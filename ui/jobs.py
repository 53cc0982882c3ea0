"""Kept only for the two callers outside this change (ui/studio_nav.py, pages/home.py), which
import `jobs.active_runs`; the jobs now live in ui.run_control, ui.run_views, ui.admission and
ui.publishing. Delete this module once those callers import ui.run_views."""

from .run_views import active_runs

__all__ = ["active_runs"]
