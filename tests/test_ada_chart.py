"""The Monitor's adaptive-augmentation and learning-rate charts: p and the rates' factor against the step,
only for runs that log them."""

import pytest

from ui import charts


@pytest.mark.parametrize("figure, key, name, y_range", [
    (charts.ada_figure, "ada_p", "augmentation p", [-0.02, 1.02]),
    (charts.lr_figure, "lr_scale", "learning-rate factor", [-0.02, 1.05]),
])
def test_the_figure_plots_its_value_against_the_step_on_a_fixed_axis_and_skips_rows_without_it(
        figure, key: str, name: str, y_range: list[float]) -> None:
    rows = [{"step": 10, key: 1.0}, {"step": 20, "loss_d": 1.0}, {"step": 30, key: 0.25}]
    fig = figure(rows)
    (t,) = fig.data
    assert list(t.x) == [10, 30] and list(t.y) == [1.0, 0.25] and t.name == name
    assert list(fig.layout.yaxis.range) == y_range
