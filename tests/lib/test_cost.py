"""backproplab.cost: both orders of the Jacobian chain give the gradient; the counter counts what
the formulas say; the layer Jacobians are the derivatives of the layers; plots.scaling draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from backproplab import cost, matrix, plots
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes


def _net(rng, sizes, act="tanh"):
    Ws = [rng.normal(0, 1, (sizes[l], sizes[l - 1])) for l in range(1, len(sizes))]
    bs = [rng.normal(0, 0.5, (sizes[l], 1)) for l in range(1, len(sizes))]
    return Ws, bs, [act] * (len(sizes) - 1)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=6), st.sampled_from(["tanh", "sigmoid", "identity"]),
       st.integers(0, 2**32 - 1))
def test_both_orders_give_the_input_gradient_and_count_as_the_formulas_say(sizes, act, seed):
    rng = np.random.default_rng(seed)
    Ws, bs, acts = _net(rng, sizes, act)
    x = rng.normal(0, 1, sizes[0])
    J = cost.layer_jacobians(Ws, bs, x, acts)
    g = rng.normal(0, 1, sizes[-1])
    rev, fwd = cost.OpCounter(), cost.OpCounter()
    r = cost.reverse_accumulate(J, g, rev)
    f = cost.forward_accumulate(J, g, fwd)
    assert r.shape == f.shape == (sizes[0],)
    assert np.allclose(r, f, rtol=1e-10, atol=1e-12)
    assert rev.madds == cost.madds_reverse(sizes) and rev.products == len(Ws)
    assert fwd.madds == cost.madds_forward(sizes) and fwd.products == len(Ws)
    # the same gradient as the matrix route's backward pass: dl/dx = W^1.T delta^1 for l = g . a^L
    _, caches = matrix.forward(Ws, bs, x.reshape(-1, 1), acts)
    delta = activation_df(acts[-1], caches[-1][1]) * g.reshape(-1, 1)
    for l in range(len(Ws) - 1, 0, -1):
        delta = activation_df(acts[l - 1], caches[l - 1][1]) * (Ws[l].T @ delta)
    assert np.allclose(r, (Ws[0].T @ delta).ravel(), rtol=1e-10, atol=1e-12)


def activation_df(name, Z):
    from backproplab.activations import get

    return get(name).df(Z)


def test_layer_jacobians_are_the_layers_derivatives():
    rng = np.random.default_rng(1)
    Ws, bs, acts = _net(rng, [3, 4, 2], "sigmoid")
    x = rng.normal(0, 1, 3)
    J = cost.layer_jacobians(Ws, bs, x, acts)

    def layer(l, a):
        return (1 / (1 + np.exp(-(Ws[l] @ a.reshape(-1, 1) + bs[l])))).ravel()

    inputs = [x, layer(0, x)]
    h = 1e-6
    for l, a in enumerate(inputs):
        numeric = np.column_stack([(layer(l, a + h * e) - layer(l, a - h * e)) / (2 * h) for e in np.eye(a.size)])
        assert J[l].shape == numeric.shape
        assert np.allclose(J[l], numeric, rtol=1e-7, atol=1e-10)


def test_counter_and_timer_details():
    c = cost.OpCounter()
    out = c.matmul(np.ones((2, 3)), np.ones((3, 4)))
    assert out.shape == (2, 4) and c.madds == 24 and c.products == 1
    c.matmul(np.ones((2, 3)), np.ones(3))
    assert c.madds == 30
    c.reset()
    assert (c.madds, c.products) == (0, 0)
    with pytest.raises(ValueError, match="cannot multiply"):
        c.matmul(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="elementwise"):
        cost.layer_jacobians([np.eye(2)], [np.zeros((2, 1))], np.ones(2), ["softmax"])
    calls = []
    t = cost.best_time(lambda v: calls.append(v), 7, repeat=3, number=2)
    assert t >= 0 and calls == [7] * 6


def test_scaling_plot_draws_series_and_guides():
    import matplotlib.pyplot as plt

    ax = plots.scaling([8, 16, 32], {"a": [1.0, 4.0, 16.0], "b": [1.0, 8.0, 64.0]}, slopes={2: "a", 3: "b"},
                       xlabel="width", var="n", title="t")
    assert isinstance(ax, Axes) and len(ax.lines) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "16", "32"]
    assert np.allclose(ax.lines[2].get_ydata(), [1.0, 4.0, 16.0])        # the n^2 guide through a's last point
    with pytest.raises(ValueError):
        plots.scaling([1, 2], {"a": [1.0]})
    with pytest.raises(ValueError):
        plots.scaling([1, 2], {"a": [1.0, 2.0]}, slopes={2: "missing"})
    plt.close("all")
