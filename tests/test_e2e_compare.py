"""In a real browser: a guard rollback marked on the Monitor's charts, the branch tree on Runs, and three
runs overlaid with their min/max envelopes beside the settings table. Screenshots go to
test-artifacts/ (e2e_guard_markers.png, e2e_branch_tree.png, e2e_compare_overlay.png).

The run folders are written as the trainer writes them (tests.test_compare_views.write_run), so the
journey needs no training: it is about what the pages draw."""

from __future__ import annotations

import json

import pytest
from test_e2e_app import ARTIFACTS, nav, page, seen, server, shot  # noqa: F401  (fixtures)

from tests.test_compare_views import write_run

pytestmark = pytest.mark.slow  # a real browser against a real server

ROLLBACK = {"step": 300, "to_step": 100, "kind": "d_overpowering", "action": "roll back",
            "rule": "D(G(z)) below 0.02 for 3 logs", "evidence": {"d_fake": [0.012, 0.009, 0.007]},
            "remedy": "D's learning rate halved, R1 gamma 1", "changes": {"train.lr_d": 1e-4, "train.r1_gamma": 1.0},
            "text": "d overpowering: back to step 100, D's learning rate halved, R1 gamma 1"}


def plots(page) -> list[dict]:  # noqa: F811 (the imported fixture's name)
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(p => ({
        title: (p.layout && p.layout.title && p.layout.title.text) || '',
        annotations: ((p.layout && p.layout.annotations) || []).map(a => a.text || ''),
        fills: (p.data || []).filter(t => t.fill === 'tonexty').length,
        traces: (p.data || []).length}))""")


def test_guard_markers_branch_tree_and_comparison_in_a_browser(server, page) -> None:  # noqa: F811
    url, home = server
    runs = home / "runs"
    write_run(runs, "baseline", 2.0)
    write_run(runs, "lower-d-lr", 3.0, lr_d=1e-4, parent="baseline",
              events=[{"step": 200, "kind": "branch", "action": "branch", "parent": "baseline",
                       "text": "branched from baseline at step 200 (lr_d=0.0001)"}])
    write_run(runs, "guarded", 4.0, events=[ROLLBACK])  # the newest: the Monitor opens it

    page.goto(url)
    nav(page, "Monitor")
    seen(page, "Losses").wait_for()
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(p => ((p.layout || {}).annotations || []).some(a => /back to step 100/.test(a.text || ''))).length >= 4""")
    marked = [p for p in plots(page) if any("back to step 100" in a for a in p["annotations"])]
    assert len(marked) == len(plots(page)) >= 4, json.dumps(plots(page))[:2000]
    shot(page, "guard_markers")

    nav(page, "Runs")
    seen(page, "Branches").wait_for()
    tree = page.locator('[data-testid="stCode"]').filter(has_text="└─").first.inner_text()
    assert "baseline" in tree and "└─ lower-d-lr  (from step 200)" in tree
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .some(p => (p.data || []).filter(t => t.fill === 'tonexty').length === 3)""")
    overlay = next(p for p in plots(page) if p["fills"] == 3)
    assert overlay["traces"] == 9 and "across runs" in overlay["title"]
    seen(page, "Settings").wait_for()  # the table itself is drawn on a canvas (glide data grid)
    page.wait_for_function("""() => document.querySelectorAll('[data-testid="stDataFrame"]').length >= 2""")
    assert page.locator('[data-testid="stDataFrame"]').filter(visible=True).count() >= 2  # runs + settings
    page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
    shot(page, "compare_overlay")
    seen(page, "Branches").scroll_into_view_if_needed()
    shot(page, "branch_tree")
    assert (ARTIFACTS / "e2e_compare_overlay.png").stat().st_size > 10_000
