"""Bad input gets a clear error naming the problem, on every route."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import layerwise, matrix, symbolic

ROUTES = [matrix.backprop, layerwise.backprop, symbolic.backprop]


def _net():
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(3, 2)), rng.normal(size=(2, 3))]
    b = [np.zeros((3, 1)), np.zeros((2, 1))]
    X = rng.normal(size=(2, 4))
    Y = np.eye(2)[:, [0, 1, 1, 0]]
    return W, b, X, Y


@pytest.mark.parametrize("route", ROUTES)
def test_mismatched_layer_shapes(route):
    W, b, X, Y = _net()
    W[1] = np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"W\[2\]|layer 2"):
        route(W, b, X, Y, ["tanh", "sigmoid"], "squared_error")


@pytest.mark.parametrize("route", ROUTES)
def test_unknown_activation_or_loss_names_the_choices(route):
    W, b, X, Y = _net()
    with pytest.raises(ValueError, match="unknown activation 'leaky'.*relu"):
        route(W, b, X, Y, ["leaky", "sigmoid"], "squared_error")
    with pytest.raises(ValueError, match="unknown loss 'mse'.*squared_error"):
        route(W, b, X, Y, ["tanh", "sigmoid"], "mse")


@pytest.mark.parametrize("route", ROUTES)
def test_labels_of_the_wrong_shape(route):
    W, b, X, Y = _net()
    with pytest.raises(ValueError, match=r"Y.*\(2, 4\)|Y .*do not fit"):
        route(W, b, X, Y.T, ["tanh", "softmax"], "cross_entropy")
    with pytest.raises(ValueError, match="Y"):
        route(W, b, X, np.array([0, 1, 1, 0]), ["tanh", "softmax"], "cross_entropy")


@pytest.mark.parametrize("route", ROUTES)
def test_nan_in_inputs(route):
    W, b, X, Y = _net()
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        route(W, b, X, Y, ["tanh", "sigmoid"], "squared_error")
    W, b, X, Y = _net()
    W[0][0, 0] = np.inf
    with pytest.raises(ValueError, match=r"W\[1\] contains"):
        route(W, b, X, Y, ["tanh", "sigmoid"], "squared_error")


def test_numeric_routes_explain_more():
    W, b, X, Y = _net()
    for route in (matrix.backprop, layerwise.backprop):
        with pytest.raises(ValueError, match="labels Y have shape .* one-hot"):
            route(W, b, X, np.array([0, 1, 1, 0]), ["tanh", "softmax"], "cross_entropy")
        with pytest.raises(ValueError, match="transposed"):
            route(W, b, X.T, Y, ["tanh", "softmax"], "cross_entropy")
        with pytest.raises(ValueError, match="only allowed in the output layer"):
            route(W, b, X, Y, ["softmax", "sigmoid"], "squared_error")
        with pytest.raises(ValueError, match="needs outputs in"):
            route(W, b, X, Y, ["tanh", "relu"], "cross_entropy")
        with pytest.raises(ValueError, match=r"b\[1\] has shape \(3,\)"):
            route(W, [np.zeros(3), b[1]], X, Y, ["tanh", "sigmoid"], "squared_error")
        with pytest.raises(TypeError, match="list of names"):
            route(W, b, X, Y, "tanh", "squared_error")
        with pytest.raises(ValueError, match="2 weight matrices but 1 bias"):
            route(W, b[:1], X, Y, ["tanh", "sigmoid"], "squared_error")
    with pytest.raises(ValueError, match="delta_L has shape"):
        _, caches = matrix.forward(W, b, X, ["tanh", "sigmoid"])
        matrix.backward(W, caches, ["tanh", "sigmoid"], np.zeros((3, 4)))
