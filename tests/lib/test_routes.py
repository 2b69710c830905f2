"""The three routes to one gradient agree with each other and with finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import layerwise, matrix, symbolic
from backproplab.gradcheck import numerical_gradient
from hypothesis import HealthCheck, assume, given, settings

from .helpers import assert_routes_agree, problems, rel_diff

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _away_from_kinks(weights, biases, X, acts, margin=1e-3) -> bool:
    """No ReLU input within ``margin`` of 0, where finite differences straddle the kink."""
    _, caches = matrix.forward(weights, biases, X, acts)
    return all(name != "relu" or np.min(np.abs(Z)) > margin for (_, Z), name in zip(caches, acts))


def _finite_differences(weights, biases, X, Y, acts, loss):
    """Centered differences of the batch cost, computed from the layerwise forward pass."""

    def cost() -> float:
        return layerwise.backprop(weights, biases, X, Y, acts, loss)[0]

    dW = [numerical_gradient(lambda _W: cost(), W) for W in weights]
    db = [numerical_gradient(lambda _b: cost(), b) for b in biases]
    return cost(), dW, db


@PROPERTY
@given(problems())
def test_three_routes_agree_and_match_finite_differences(problem):
    weights, biases, X, Y, acts, loss = problem
    assume(_away_from_kinks(weights, biases, X, acts))
    r_mat = matrix.backprop(weights, biases, X, Y, acts, loss)
    r_lw = layerwise.backprop(weights, biases, X, Y, acts, loss)
    r_sym = symbolic.backprop(weights, biases, X, Y, acts, loss)
    assert_routes_agree(r_mat, r_lw, 1e-10, ("matrix", "layerwise"))
    assert_routes_agree(r_mat, r_sym, 1e-10, ("matrix", "symbolic"))
    assert_routes_agree(r_lw, r_sym, 1e-10, ("layerwise", "symbolic"))
    fd = _finite_differences([W.copy() for W in weights], [b.copy() for b in biases], X, Y, acts, loss)
    atol = 1e-7 * max(1.0, abs(fd[0]))
    for name, got, num in [("dW", r_sym[1], fd[1]), ("db", r_sym[2], fd[2])]:
        for i, (g, n) in enumerate(zip(got, num), start=1):
            err = np.max(np.abs(g - n))
            assert err <= 1e-6 * np.max(np.abs(n)) + atol, f"{name}[{i}] vs finite differences: {err:.2e}"


@settings(max_examples=15, deadline=None)
@given(problems(max_layers=2, max_width=3, max_batch=3))
def test_symbolic_full_expression_and_chain_rule_agree(problem):
    """The two symbolic methods (one closed-form expression vs shared sub-expressions) agree."""
    weights, biases, X, Y, acts, loss = problem
    full = symbolic.backprop(weights, biases, X, Y, acts, loss, method="full")
    chain = symbolic.backprop(weights, biases, X, Y, acts, loss, method="chain")
    assert_routes_agree(full, chain, 1e-11, ("full", "chain"))


def test_routes_are_deterministic_and_leave_inputs_alone():
    rng = np.random.default_rng(7)
    weights = [rng.normal(size=(3, 2)), rng.normal(size=(2, 3))]
    biases = [rng.normal(size=(3, 1)), rng.normal(size=(2, 1))]
    X, Y = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    before = [a.copy() for a in weights + biases + [X, Y]]
    for route in (matrix.backprop, layerwise.backprop, symbolic.backprop):
        route(weights, biases, X, Y, ["tanh", "identity"], "squared_error")
        for a, b in zip(weights + biases + [X, Y], before):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("m", [1, 3, 8])
def test_batch_cost_is_the_mean_of_per_example_costs(m):
    rng = np.random.default_rng(m)
    weights = [rng.normal(size=(4, 3)), rng.normal(size=(3, 4))]
    biases = [rng.normal(size=(4, 1)), rng.normal(size=(3, 1))]
    X = rng.normal(size=(3, m))
    Y = np.eye(3)[:, rng.integers(0, 3, m)]
    acts = ["swish", "softmax"]
    loss, dW, db = matrix.backprop(weights, biases, X, Y, acts, "cross_entropy")
    singles = [matrix.backprop(weights, biases, X[:, [j]], Y[:, [j]], acts, "cross_entropy") for j in range(m)]
    assert rel_diff(loss, np.mean([s[0] for s in singles])) < 1e-12
    for i in range(2):
        assert rel_diff(dW[i], np.mean([s[1][i] for s in singles], axis=0)) < 1e-12
        assert rel_diff(db[i], np.mean([s[2][i] for s in singles], axis=0)) < 1e-12


def test_softmax_cross_entropy_output_delta_is_p_minus_y():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(4, 5)) * 3
    Y = np.eye(4)[:, rng.integers(0, 4, 5)]
    P = np.exp(Z) / np.exp(Z).sum(axis=0)
    got = matrix.output_delta(P, Z, Y, "softmax", "cross_entropy")
    unfused = matrix.activation_backward(-Y / P, Z, "softmax")
    np.testing.assert_allclose(got, P - Y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(unfused, P - Y, rtol=1e-9, atol=1e-12)


def test_matrix_pieces_compose_to_backprop():
    rng = np.random.default_rng(11)
    sizes = [3, 5, 4, 2]
    weights = [rng.normal(size=(sizes[i], sizes[i - 1])) for i in range(1, 4)]
    biases = [rng.normal(size=(sizes[i], 1)) for i in range(1, 4)]
    X, Y = rng.normal(size=(3, 6)), rng.normal(size=(2, 6))
    acts = ["tanh", "relu", "sigmoid"]
    A, caches = matrix.forward(weights, biases, X, acts)
    # by hand from the per-layer helpers
    A_prev, dW, db = X, [], []
    Zs = []
    for W, b, name in zip(weights, biases, acts):
        Z, _ = matrix.linear_forward(A_prev, W, b)
        Zs.append(Z)
        A_prev = matrix.activation_forward(Z, name)
    np.testing.assert_allclose(A_prev, A, rtol=1e-14)
    delta = matrix.activation_backward(A - Y, Zs[-1], "sigmoid")
    for layer in range(3, 0, -1):
        a_prev = X if layer == 1 else matrix.activation_forward(Zs[layer - 2], acts[layer - 2])
        dA_prev, gW, gb = matrix.linear_backward(delta, a_prev, weights[layer - 1])
        dW.insert(0, gW)
        db.insert(0, gb)
        if layer > 1:
            delta = matrix.activation_backward(dA_prev, Zs[layer - 2], acts[layer - 2])
    _, dW_ref, db_ref = matrix.backprop(weights, biases, X, Y, acts, "squared_error")
    _, dW_lw, db_lw = layerwise.backprop(weights, biases, X, Y, acts, "squared_error")
    assert_routes_agree((0.0, dW, db), (0.0, dW_lw, db_lw), 1e-12)
    assert_routes_agree((0.0, dW_ref, db_ref), (0.0, dW_lw, db_lw), 1e-12)
    dW2, db2 = matrix.backward(weights, caches, acts, matrix.output_delta(A, caches[-1][1], Y, "sigmoid",
                                                                          "squared_error"))
    assert_routes_agree((0.0, dW2, db2), (0.0, dW_lw, db_lw), 1e-12)


def test_layerwise_pieces_forward_backward_update_lower_the_error():
    rng = np.random.default_rng(5)
    weights = [rng.normal(size=(3, 2)), rng.normal(size=(1, 3))]
    biases = [rng.normal(size=(3, 1)), rng.normal(size=(1, 1))]
    x, y = np.array([0.5, -1.0]), np.array([0.3])
    acts = ["sigmoid", "sigmoid"]
    nets, outs = layerwise.forward(weights, biases, x, acts)
    assert [n.shape for n in nets] == [(3,), (1,)] and [o.shape for o in outs] == [(2,), (3,), (1,)]
    np.testing.assert_allclose(nets[0], weights[0] @ x + biases[0][:, 0], rtol=1e-14)
    e0 = layerwise.example_loss(nets, outs, y, acts, "squared_error")
    dW, db = layerwise.backward(weights, nets, outs, y, acts, "squared_error")
    _, dW_sym, db_sym = symbolic.backprop(weights, biases, x.reshape(-1, 1), y.reshape(-1, 1), acts)
    assert_routes_agree((0.0, dW, db), (0.0, dW_sym, db_sym), 1e-12)
    new_W, new_b = layerwise.update(weights, biases, dW, db, 0.5)
    assert new_W[0] is not weights[0]
    np.testing.assert_allclose(new_W[1], weights[1] - 0.5 * dW[1])
    n2, o2 = layerwise.forward(new_W, new_b, x, acts)
    assert layerwise.example_loss(n2, o2, y, acts, "squared_error") < e0
