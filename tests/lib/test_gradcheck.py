"""The gradient checker passes a correct gradient and finds a planted error."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import gradcheck


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(4, 3))
    x = rng.normal(size=(3, 2))
    f = lambda X: float(np.sum(np.tanh(A @ X) ** 2))
    T = np.tanh(A @ x)
    grad = A.T @ (2 * T * (1 - T**2))  # d/dX sum tanh(AX)^2, by the chain rule
    return f, x, grad


def test_numerical_gradient_matches_an_exact_gradient_and_restores_x():
    f, x, grad = _problem()
    x0 = x.copy()
    num = gradcheck.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_allclose(num, grad, rtol=1e-8, atol=1e-10)
    with pytest.raises(TypeError, match="float64"):
        gradcheck.numerical_gradient(f, x.astype(np.float32))


def test_relative_error():
    assert gradcheck.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert gradcheck.relative_error([1.0], [-1.0]) == pytest.approx(1.0)
    assert gradcheck.relative_error(np.ones(3), np.ones(3) * (1 + 1e-8)) == pytest.approx(5e-9, rel=1e-3)
    with pytest.raises(ValueError, match="shapes differ"):
        gradcheck.relative_error(np.ones(2), np.ones(3))


def test_check_gradient_passes_a_correct_gradient():
    f, x, grad = _problem(1)
    res = gradcheck.check_gradient(f, x, grad, "dW[1]")
    assert res and res.max_rel_error < 1e-7
    assert "ok" in str(res)


def test_check_gradient_finds_a_planted_error():
    f, x, grad = _problem(2)
    bad = grad.copy()
    bad[2, 1] += 0.5
    res = gradcheck.check_gradient(f, x, bad, "dW[2]")
    assert not res
    assert res.worst_index == (2, 1)
    assert "dW[2] differs at (2, 1)" in str(res)


@pytest.mark.parametrize(("transform", "words"), [
    (lambda g: 2 * g, "factor of 2"),
    (lambda g: -g, "sign"),
    (lambda g: g.T, "transpose"),
])
def test_check_gradient_names_common_mistakes(transform, words):
    f, x, grad = _problem(3)
    res = gradcheck.check_gradient(f, x, transform(grad), "dW")
    assert not res
    assert words in str(res), str(res)
