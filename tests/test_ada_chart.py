"""The Monitor's adaptive-augmentation and learning-rate charts: p and the rates' factor against the step,
only for runs that log them."""

from ui import charts


def test_ada_figure_plots_p_against_the_step_and_skips_rows_without_it() -> None:
    rows = [{"step": 10, "ada_p": 0.0}, {"step": 20, "loss_d": 1.0}, {"step": 30, "ada_p": 0.25}]
    fig = charts.ada_figure(rows)
    (t,) = fig.data
    assert list(t.x) == [10, 30] and list(t.y) == [0.0, 0.25] and t.name == "augmentation p"
    assert list(fig.layout.yaxis.range) == [-0.02, 1.02]


def test_lr_figure_plots_the_rates_factor_against_the_step_on_a_fixed_axis() -> None:
    rows = [{"step": 10, "lr_scale": 1.0}, {"step": 20, "loss_d": 1.0}, {"step": 30, "lr_scale": 0.4}]
    fig = charts.lr_figure(rows)
    (t,) = fig.data
    assert list(t.x) == [10, 30] and list(t.y) == [1.0, 0.4] and t.name == "learning-rate factor"
    assert list(fig.layout.yaxis.range) == [-0.02, 1.05]
