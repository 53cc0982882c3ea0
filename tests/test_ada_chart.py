"""The Monitor's adaptive-augmentation chart: p against the step, only for runs that log it."""

from ui import charts


def test_ada_figure_plots_p_against_the_step_and_skips_rows_without_it() -> None:
    rows = [{"step": 10, "ada_p": 0.0}, {"step": 20, "loss_d": 1.0}, {"step": 30, "ada_p": 0.25}]
    fig = charts.ada_figure(rows)
    (t,) = fig.data
    assert list(t.x) == [10, 30] and list(t.y) == [0.0, 0.25] and t.name == "augmentation p"
    assert list(fig.layout.yaxis.range) == [-0.02, 1.02]
