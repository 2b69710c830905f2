"""The plots notebooks 08 and 10 add: they draw headless, return Axes or a Figure, never show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from backproplab import datasets, init, plots, train
from matplotlib.axes import Axes
from matplotlib.figure import Figure

pytestmark = pytest.mark.usefixtures("no_plt_show")


def test_contour_paths_and_boundary_snapshots():
    def cost(P):
        return 0.5 * (P[0] ** 2 + 10 * P[1] ** 2)

    path = np.array([[1.0, 1.0], [0.5, -0.5], [0.2, 0.1]])
    ax = plots.contour_paths(cost, {"SGD": path}, (-1.5, 1.5), (-1.5, 1.5), minimum=(0, 0))
    assert isinstance(ax, Axes) and len(ax.lines) == 2
    X, Y = datasets.moons(20, rng=0)
    W, b = init.init_network([2, 3, 1], np.random.default_rng(0), "he")

    def predict(P):
        return train.predict(W, b, P, ["relu", "sigmoid"])

    fig = plots.boundary_snapshots({"a": predict, "b": predict, "c": predict}, X, Y, ncols=2, resolution=20)
    assert isinstance(fig, Figure) and [a.get_title() for a in fig.axes[:3]] == ["a", "b", "c"]
    assert not fig.axes[3].axison


def test_accuracy_vs_bits_and_size_sweep():
    ax = plots.accuracy_vs_bits([8, 4, 2], {"max": [0.98, 0.97, 0.6]}, reference=0.98)
    assert isinstance(ax, Axes) and ax.get_xlim()[0] > ax.get_xlim()[1]          # fewer bits to the right
    train_c = np.array([[0.3, 0.31], [0.1, 0.12], [0.01, 0.02]])
    val_c = np.array([[0.35, 0.36], [0.15, 0.14], [0.3, 0.2]])
    ax = plots.size_sweep([1, 4, 16], train_c, val_c, chosen=4)
    assert isinstance(ax, Axes) and ax.get_xscale() == "log"
    _, ax2 = plt.subplots()
    assert plots.size_sweep([1, 4, 16], train_c, val_c, ax=ax2, log=False) is ax2
