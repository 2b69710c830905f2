"""backproplab.vanishing: per-layer gradient norms agree with the other routes and finite differences,
the Jacobians' product is the network's Jacobian, the initialisations behave as the variance
argument says, and the experiment behind notebook 09's question gives the answer its checks expect."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import layerwise, matrix, vanishing
from backproplab.exercises.nb09 import ANSWER
from backproplab.gradcheck import numerical_gradient
from hypothesis import HealthCheck, assume, given, settings

from .helpers import problems

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _squared_error_only(problem):
    weights, biases, X, Y, acts, loss = problem
    assume(loss == "squared_error")
    _, caches = matrix.forward(weights, biases, X, acts)
    assume(all(a != "relu" or np.min(np.abs(Z)) > 1e-3 for (_, Z), a in zip(caches, acts)))
    return weights, biases, X, Y, acts


@PROPERTY
@given(problems())
def test_gradient_norms_match_the_layerwise_route_and_finite_differences(problem):
    weights, biases, X, Y, acts = _squared_error_only(problem)
    dW_norms, dZ_norms = vanishing.gradient_norms(weights, biases, X, Y, acts)
    L, m = len(weights), X.shape[1]
    assert dW_norms.shape == dZ_norms.shape == (L,)
    _, dW, _ = layerwise.backprop(weights, biases, X, Y, acts, "squared_error")
    np.testing.assert_allclose(dW_norms, [np.linalg.norm(g) for g in dW], rtol=1e-9, atol=1e-14)
    # dC/dZ^l by finite differences: shift one example's bias b^l, i.e. one column of Z^l
    for l in range(1, L + 1):
        num = np.zeros((weights[l - 1].shape[0], m))
        for j in range(m):
            def cost(b, l=l, j=j):
                Ws, bs = list(weights), list(biases)
                A = X
                for i, (W, bi, a) in enumerate(zip(Ws, bs, acts), start=1):
                    Z = W @ A + bi
                    if i == l:
                        Z[:, j:j + 1] += b
                    A = matrix.activation_forward(Z, a)
                return 0.5 * np.sum((A - Y) ** 2) / m
            num[:, j] = numerical_gradient(cost, np.zeros((num.shape[0], 1)))[:, 0]
        assert dZ_norms[l - 1] == pytest.approx(np.linalg.norm(num), rel=1e-5, abs=1e-9)


def test_layer_jacobians_multiply_to_the_networks_jacobian():
    rng = np.random.default_rng(0)
    weights, biases, acts = vanishing.deep_network(4, 5, 3, 2, "tanh", 1.3, rng)
    biases = [rng.normal(size=b.shape) for b in biases]
    x = rng.normal(size=(3, 1))
    J = vanishing.layer_jacobians(weights, biases, x, acts)
    assert [j.shape for j in J] == [W.shape for W in weights]
    P = J[-1]
    for j in J[-2::-1]:
        P = P @ j
    num = np.column_stack([numerical_gradient(lambda v, k=k: matrix.forward(weights, biases, v, acts)[0][k, 0],
                                              x.copy())[:, 0] for k in range(2)]).T
    np.testing.assert_allclose(P, num, rtol=1e-6, atol=1e-9)


def test_deep_network_initialisations_have_the_variances_of_their_names():
    rng = np.random.default_rng(1)
    for init, var in [("xavier", lambda i, o: 2 / (i + o)), ("he", lambda i, o: 2 / i), (1.7, lambda i, o: 1.7**2 / i)]:
        weights, biases, acts = vanishing.deep_network(3, 400, 300, 200, "relu", init, rng)
        assert acts == ["relu", "relu", "identity"]
        for W in weights:
            o, i = W.shape
            assert np.var(W) == pytest.approx(var(i, o), rel=0.05)
        assert all(np.all(b == 0) for b in biases)
    with pytest.raises(ValueError, match="init"):
        vanishing.deep_network(3, 4, 2, 1, "tanh", "lecun", rng)
    with pytest.raises(TypeError, match="Generator"):
        vanishing.deep_network(3, 4, 2, 1, "tanh", 1.0, 0)


def test_variance_is_kept_by_he_for_relu_and_halved_by_xavier():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(64, 256))
    ratios = {}
    for init in ("he", "xavier"):
        weights, biases, acts = vanishing.deep_network(21, 64, 64, 1, "relu", init, np.random.default_rng(3))
        v = vanishing.activation_variances(weights, biases, X, acts)
        ratios[init] = (v[19] / v[1]) ** (1 / 18)           # per-layer factor over the hidden layers
    assert ratios["he"] == pytest.approx(1.0, abs=0.1)
    assert ratios["xavier"] == pytest.approx(0.5, abs=0.1)


def test_descent_losses_fall_for_a_small_net_and_stop_at_overflow():
    rng = np.random.default_rng(4)
    X, Y = vanishing.regression_task(32, rng)
    weights, biases, acts = vanishing.deep_network(2, 16, 2, 1, "tanh", "xavier", rng)
    before = [W.copy() for W in weights]
    losses = vanishing.descent_losses(weights, biases, X, Y, acts, lr=0.1, steps=50)
    assert losses.shape == (51,) and losses[-1] < 0.7 * losses[0]
    assert all(np.array_equal(W, B) for W, B in zip(weights, before))     # inputs untouched
    weights, biases, acts = vanishing.deep_network(30, 16, 2, 1, "relu", 3.0, rng)
    exploded = vanishing.descent_losses(weights, biases, X, Y, acts, lr=0.1, steps=20)
    assert np.isinf(exploded[-1])


def test_closest_kink():
    W = [np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])]
    b = [np.array([[0.0], [0.25]]), np.zeros((1, 1))]
    X = np.array([[0.5, -0.1]])
    assert vanishing.closest_kink(W, b, X, ["relu", "identity"]) == pytest.approx(0.1)
    assert vanishing.closest_kink(W, b, X, ["tanh", "identity"]) == np.inf


def test_the_experiment_gives_the_answer_that_ex09_which_trains_expects():
    """Re-runs notebook 09's seven configurations (a few seconds)."""
    assert set(ANSWER) == set(vanishing.CONFIGS)
    for name, (act, init) in vanishing.CONFIGS.items():
        r = vanishing.run_config(act, init)
        ratio = r["dZ_norms"][0] / r["dZ_norms"][-1]
        cause = "vanishing" if ratio < 1e-2 else "exploding" if ratio > 1e2 else "healthy"
        if ANSWER[name] == "trains":
            assert r["trains"] and cause == "healthy", (name, r["losses"][-1], ratio)
        else:
            assert not r["trains"] and cause == ANSWER[name], (name, r["losses"][-1], ratio)
