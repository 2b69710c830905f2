"""Losses: values against SymPy, gradients against finite differences, stable from-logits forms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp
from backproplab import losses
from backproplab.gradcheck import numerical_gradient
from hypothesis import given, settings
from hypothesis import strategies as st


def _targets(rng, name, shape):
    if name == "squared_error":
        return rng.normal(size=shape)
    if name == "binary_cross_entropy":
        return rng.uniform(size=shape)
    return rng.dirichlet(np.ones(shape[0]), size=shape[1]).T


def _outputs(rng, name, shape):
    if name == "squared_error":
        return rng.normal(size=shape)
    if name == "binary_cross_entropy":
        return rng.uniform(0.05, 0.95, size=shape)
    Z = rng.normal(size=shape)
    return np.exp(Z) / np.exp(Z).sum(axis=0)


def _sympy_loss(name, a, y):
    if name == "squared_error":
        return sp.Rational(1, 2) * (a - y) ** 2
    if name == "binary_cross_entropy":
        return -(y * sp.log(a) + (1 - y) * sp.log(1 - a))
    return -y * sp.log(a)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(losses.NAMES), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_value_matches_sympy_and_grad_matches_finite_differences(name, n, m, seed):
    rng = np.random.default_rng(seed)
    A, Y = _outputs(rng, name, (n, m)), _targets(rng, name, (n, m))
    loss = losses.get(name)
    a, y = sp.symbols("a y")
    per_entry = sp.lambdify((a, y), _sympy_loss(name, a, y), "numpy")
    expected = float(np.sum(per_entry(A, Y)) / m)
    assert loss.value(A, Y) == pytest.approx(expected, rel=1e-12, abs=1e-14)
    # grad is the per-example gradient, i.e. m times the gradient of the batch mean. Centered
    # differences are off by about (h/a)**2 relatively where the loss has log(a): softmax outputs
    # can be 1e-2 or smaller, so the step is 1e-7 (round-off stays near 1e-9 relatively)
    numeric = numerical_gradient(lambda _A: loss.value(_A, Y), A.copy(), h=1e-7)
    np.testing.assert_allclose(loss.grad(A, Y) / m, numeric, rtol=1e-6, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_from_logits_forms_equal_the_composed_forms(n, m, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, m)) * 3
    Yb, Yc = rng.uniform(size=(n, m)), rng.dirichlet(np.ones(n), size=m).T
    S = 1 / (1 + np.exp(-Z))
    P = np.exp(Z) / np.exp(Z).sum(axis=0)
    assert losses.sigmoid_binary_cross_entropy(Z, Yb) == pytest.approx(losses.binary_cross_entropy(S, Yb), rel=1e-10)
    assert losses.softmax_cross_entropy(Z, Yc) == pytest.approx(losses.cross_entropy(P, Yc), rel=1e-10)
    for value, grad, Y in [(losses.sigmoid_binary_cross_entropy, losses.sigmoid_binary_cross_entropy_grad, Yb),
                           (losses.softmax_cross_entropy, losses.softmax_cross_entropy_grad, Yc)]:
        numeric = numerical_gradient(lambda _Z, v=value, y=Y: v(_Z, y), Z.copy())
        np.testing.assert_allclose(grad(Z, Y) / m, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(losses.softmax_cross_entropy_grad(Z, Yc), P - Yc, atol=1e-12)


def test_large_logits_give_no_warning_and_exact_values():
    Z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
    Y = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        ce = losses.softmax_cross_entropy(Z, Y)
        g = losses.softmax_cross_entropy_grad(Z, Y)
        bce = losses.sigmoid_binary_cross_entropy(Z, Y)
        gb = losses.sigmoid_binary_cross_entropy_grad(Z, Y)
        lse = losses.logsumexp(Z)
        losses.binary_cross_entropy(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))
        losses.cross_entropy(np.array([[0.0], [1.0]]), np.array([[1.0], [0.0]]))
    # column 1: logit 1000 on the wrong class costs 2000; column 3: log 2
    assert ce == pytest.approx((0.0 + 2000.0 + np.log(2)) / 3)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(gb))
    np.testing.assert_allclose(lse, [[1000.0, 1000.0, np.log(2)]])
    assert np.isfinite(bce)


def test_unknown_loss_and_shape_mismatch_are_clear():
    with pytest.raises(ValueError, match="unknown loss 'mse'"):
        losses.get("mse")
    with pytest.raises(ValueError, match="targets Y have shape"):
        losses.squared_error(np.zeros((2, 3)), np.zeros((3, 2)))


def test_sympy_derivation_softmax_cross_entropy_is_p_minus_y():
    """The derivation notebook 07 makes: d/dz_j of -sum y_k log softmax_k = p_j - y_j (sum y = 1)."""
    z = sp.symbols("z0:3")
    y = sp.symbols("y0:3")
    S = sum(sp.exp(zk) for zk in z)
    L = -sum(yk * sp.log(sp.exp(zk) / S) for zk, yk in zip(z, y))
    rng = np.random.default_rng(0)
    zv, yv = rng.normal(size=3), rng.dirichlet(np.ones(3))
    subs = {**dict(zip(z, zv)), **dict(zip(y, yv))}
    sym = np.array([float(sp.diff(L, zk).subs(subs)) for zk in z])
    got = losses.softmax_cross_entropy_grad(zv.reshape(3, 1), yv.reshape(3, 1))[:, 0]
    np.testing.assert_allclose(got, sym, rtol=1e-12, atol=1e-14)
