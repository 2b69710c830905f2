"""Plots draw headless; exercise routes are @protected, the oracle is not and imports no other route."""

from __future__ import annotations

import ast
import inspect

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from backproplab import (
    autodiff,
    datasets,
    init,
    layerwise,
    losses,
    matrix,
    optim,
    plots,
    symbolic,
    train,
)
from backproplab.grading import DelegationError, forbid
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def test_plots_return_axes_and_figures(monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plots must not call plt.show"))
    h = train.History(epoch=[1, 2, 3], loss=[1.0, 0.5, 0.2], test_loss=[1.1, 0.6, 0.4])
    assert isinstance(plots.loss_curves(h), Axes)
    assert isinstance(plots.loss_curves({"a": [3, 2, 1], "b": [2, 2, 2]}), Axes)
    X, Y = datasets.moons(30, rng=0)
    W, b = init.init_network([2, 4, 1], np.random.default_rng(0), "he")
    ax = plots.decision_boundary(lambda P: train.predict(W, b, P, ["relu", "sigmoid"]), X, Y, resolution=30)
    assert isinstance(ax, Axes)
    d = datasets.load_digits()
    fig = plots.digit_grid(d.images_test[:12], d.y_test[:12], d.y_test[:12][::-1], ncols=6)
    assert isinstance(fig, Figure) and len(fig.axes) == 12
    assert isinstance(plots.digit_grid(d.X_test[:, :5]), Figure)
    assert isinstance(plots.gradient_norms({"sigmoid": [1e-4, 1e-2, 1.0], "relu": [0.5, 0.6, 0.7]}), Axes)
    assert isinstance(plots.confusion_matrix(train.confusion_matrix([0, 1, 1], [0, 1, 0])), Axes)
    _, ax2 = plt.subplots()
    assert plots.loss_curves([1, 2], ax=ax2) is ax2
    plt.close("all")


PROTECTED = [
    matrix.linear_forward, matrix.linear_backward, matrix.forward, matrix.backward, matrix.backprop,
    matrix.output_delta, matrix.hidden_delta, matrix.activation_forward, matrix.activation_backward,
    layerwise.forward, layerwise.backward, layerwise.update, layerwise.backprop, layerwise.example_loss,
    losses.squared_error, losses.squared_error_grad, losses.binary_cross_entropy, losses.binary_cross_entropy_grad,
    losses.cross_entropy, losses.cross_entropy_grad, losses.softmax_cross_entropy, losses.softmax_cross_entropy_grad,
    losses.sigmoid_binary_cross_entropy, losses.sigmoid_binary_cross_entropy_grad, losses.logsumexp,
    optim.sgd_step, optim.momentum_step, optim.adam_step,
    init.naive_normal, init.glorot_normal, init.glorot_uniform, init.he_normal, init.he_uniform,
    autodiff.topological_sort, autodiff.Value.backward, autodiff.mul_backward, autodiff.exp_backward,
    autodiff.tanh_backward, autodiff.add_backward,
]


@pytest.mark.parametrize("fn", PROTECTED, ids=lambda f: f.__qualname__)
def test_exercise_routes_are_protected(fn):
    assert getattr(fn, "__backproplab_protected__", None)


def test_forbid_switches_off_a_route_even_through_an_alias():
    from backproplab.matrix import backprop as alias  # imported before the guard

    rng = np.random.default_rng(0)
    W, b = [rng.normal(size=(2, 2))], [np.zeros((2, 1))]
    X = rng.normal(size=(2, 3))
    with forbid(matrix.backprop):
        with pytest.raises(DelegationError):
            alias(W, b, X, X, ["identity"], "squared_error")
        # the exact oracle solves every gradient exercise: it is always off under test
        with pytest.raises(DelegationError):
            symbolic.backprop(W, b, X, X, ["identity"], "squared_error")
    with forbid(autodiff.Value.backward), pytest.raises(DelegationError):
        (autodiff.Value(1.0) * 2).backward()
    alias(W, b, X, X, ["identity"], "squared_error")


def test_symbolic_oracle_is_independent_and_works_outside_the_guard():
    # it shares no gradient code with the other routes: only the guard's decorator
    tree = ast.parse(inspect.getsource(symbolic))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "functools", "collections.abc", "numpy", "sympy", "_guard"}, imported
    W, b = [np.eye(2)], [np.zeros((2, 1))]
    X = np.ones((2, 3))
    loss, dW, db = symbolic.backprop(W, b, X, X, ["identity"], "squared_error")  # no guard: it answers
    assert loss == 0.0 and not dW[0].any() and not db[0].any()
