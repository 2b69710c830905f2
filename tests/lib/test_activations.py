"""Every activation's derivative matches centered differences and SymPy; nothing warns at |z| = 1000."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp
from backproplab import activations, symbolic
from hypothesis import assume, given, settings
from hypothesis import strategies as st

ELEMENTWISE = [n for n in activations.NAMES if n != "softmax"]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ELEMENTWISE), st.lists(st.floats(-30, 30), min_size=1, max_size=8))
def test_derivative_matches_centered_differences(name, zs):
    z = np.array(zs)
    assume(name != "relu" or np.min(np.abs(z)) > 1e-4)
    act = activations.get(name)
    h = 1e-6
    numeric = (act.f(z + h) - act.f(z - h)) / (2 * h)
    np.testing.assert_allclose(act.df(z), numeric, rtol=1e-6, atol=1e-8)
    g = np.linspace(-1, 1, z.size)
    np.testing.assert_allclose(act.vjp(z, g), act.df(z) * g, rtol=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_function_and_derivative_match_sympy(name):
    z = sp.Symbol("z")
    expr = symbolic.activation_expr(name, z)
    f = sp.lambdify(z, expr, "numpy")
    df = sp.lambdify(z, sp.diff(expr, z), "numpy")
    pts = np.linspace(-6, 6, 41) + 0.013  # avoids relu's kink at 0
    act = activations.get(name)
    np.testing.assert_allclose(act.f(pts), f(pts), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(act.df(pts), df(pts), rtol=1e-10, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_softmax_columns_vjp_and_jacobian(n, m, seed):
    rng = np.random.default_rng(seed)
    Z, G = rng.normal(size=(n, m)) * 4, rng.normal(size=(n, m))
    P = activations.softmax(Z)
    np.testing.assert_allclose(P.sum(axis=0), 1.0, rtol=1e-14)
    h = 1e-6
    numeric = np.zeros_like(Z)
    for i in range(n):
        E = np.zeros_like(Z)
        E[i] = h
        numeric[i] = np.sum(G * (activations.softmax(Z + E) - activations.softmax(Z - E)), axis=0) / (2 * h)
    np.testing.assert_allclose(activations.softmax_vjp(Z, G), numeric, rtol=1e-6, atol=1e-8)
    J = activations.softmax_jacobian(Z[:, 0])
    np.testing.assert_allclose(J.T @ G[:, 0], activations.softmax_vjp(Z[:, :1], G[:, :1])[:, 0], atol=1e-14)


@pytest.mark.parametrize("name", activations.NAMES)
def test_no_warnings_at_large_inputs(name):
    z = np.array([[-1000.0, 1000.0], [0.0, -1000.0], [1000.0, 3.0]])
    act = activations.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.f(z)
        d = act.vjp(z, np.ones_like(z))
        if act.df is not None:
            d2 = act.df(z)
            assert np.all(np.isfinite(d2))
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))
    if name == "sigmoid":
        np.testing.assert_array_equal(a[0], [0.0, 1.0])
    if name == "softmax":
        np.testing.assert_allclose(a.sum(axis=0), 1.0)


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown activation 'gelu'; choose one of: identity"):
        activations.get("gelu")
