"""The plots of notebooks 09 and 11 draw headless, return Axes or a Figure, and never call plt.show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from backproplab import plots
from matplotlib.axes import Axes
from matplotlib.figure import Figure

pytestmark = pytest.mark.usefixtures("no_plt_show")


def test_layer_profile_takes_one_sequence_or_a_dict_and_leaves_gaps_for_inf():
    ax = plots.layer_profile([1e-3, 1e-2, 1e-1], ylabel="norm")
    assert isinstance(ax, Axes) and ax.get_yscale() == "log" and ax.get_xlabel() == "layer l"
    ax = plots.layer_profile({"a": [1.0, np.inf, 2.0], "b": [0.5, 0.4, 0.3]})
    assert len(ax.get_lines()) == 2 and np.isnan(ax.get_lines()[0].get_ydata()[1])


def test_gradient_panel_is_a_two_panel_figure():
    fig = plots.gradient_panel({"dW": [1.0, 0.1], "dZ": [0.5, 0.05]}, {"run": [1.0, 0.5, np.inf]},
                               title="t", baseline=0.8)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].get_ylim()[1] == pytest.approx(24.0)


def test_time_profile_and_unrolled_rnn():
    ax = plots.time_profile({"rho = 0.9": np.geomspace(1e-6, 1, 10)}, ylabel="norm")
    assert isinstance(ax, Axes) and ax.get_xlabel() == "time step t" and ax.get_lines()[0].get_xdata()[0] == 1
    ax = plots.unrolled_rnn(3)
    assert isinstance(ax, Axes) and sum("h_" in t.get_text() for t in ax.texts) == 4     # h_0 .. h_3


def test_new_plots_are_exported():
    for name in ("gradient_panel", "layer_profile", "time_profile", "unrolled_rnn"):
        assert name in plots.__all__
