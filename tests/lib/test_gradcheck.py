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


# ---- the one rule: relative to the entry, or below the noise floor ----------------------------
def _saturated_neuron():
    x, y = 0.7, 0.2
    f = lambda p: 0.5 * (np.tanh(p[0] * x + p[1]) - y) ** 2
    p = np.array([0.5, 9.0])  # b = 9: tanh'(z) ~ 3e-8, so both entries are tiny
    t = np.tanh(p[0] * x + p[1])
    return f, p, (t - y) * (1 - t**2) * np.array([x, 1.0])


def test_a_saturated_unit_is_no_false_alarm():
    f, p, grad = _saturated_neuron()
    numeric = gradcheck.numerical_gradient(f, p.copy())
    assert gradcheck.relative_error(grad, numeric) > 1e-5  # without the floor: noise looks like a bug
    eta = gradcheck.noise_floor(f(p))
    assert np.max(np.abs(grad - numeric)) < eta  # the error is below the noise floor
    res = gradcheck.check_gradient(f, p, grad, "d")
    assert res and res.max_rel_error <= res.tol and res.noise_floor == pytest.approx(eta)


def test_noise_floor():
    eps = np.finfo(np.float64).eps
    assert gradcheck.noise_floor(2.0) == pytest.approx(gradcheck.NOISE_FACTOR * eps * 2.0 / 1e-5)
    assert gradcheck.noise_floor(-2.0, h=1e-3) == pytest.approx(gradcheck.NOISE_FACTOR * eps * 2.0 / 1e-3)
    assert gradcheck.noise_floor(1.0, dtype=np.float32) / gradcheck.noise_floor(1.0) > 1e8


def test_relative_error_uses_its_floor():
    a, b = np.array([1e-7, 2.0]), np.array([1.2e-7, 2.0])
    assert gradcheck.relative_error(a, b) == pytest.approx(0.2e-7 / 2.2e-7)
    assert gradcheck.relative_error(a, b, floor=1e-3) == pytest.approx(0.2e-7 / 1e-3)
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.relative_error(np.array([]), np.array([])) == 0.0
    assert gradcheck.relative_error(np.arange(6.0).reshape(2, 3).T, np.arange(6.0).reshape(2, 3).T) == 0.0


@pytest.mark.parametrize("seed", range(12))
def test_the_message_never_contradicts_the_verdict(seed):
    rng = np.random.default_rng(seed)
    f, x, grad = _problem(seed)
    if seed % 3 == 1:
        grad = grad * (1 + rng.normal(0, 10.0 ** -rng.integers(3, 9), size=grad.shape))
    tol = float(10.0 ** -rng.integers(4, 8))
    res = gradcheck.check_gradient(f, x, grad, "dW", tol=tol)
    assert bool(res) == (res.max_rel_error <= tol)
    shown = float(str(res).split("relative error ")[1].split()[0])
    assert ("ok" in str(res)) == bool(res)
    assert (shown <= tol * 1.01) == bool(res), str(res)  # the number printed agrees with the verdict


def test_the_check_is_scale_free():
    f, x, grad = _problem(4)
    tiny = lambda X: 1e-6 * f(X)
    assert gradcheck.check_gradient(tiny, x, 1e-6 * grad, "dW")
    bad = 1e-6 * grad
    bad[1, 0] *= 1.5
    res = gradcheck.check_gradient(tiny, x, bad, "dW")
    assert not res and res.worst_index == (1, 0)


def test_a_kink_is_a_false_alarm_the_rule_cannot_remove():
    relu = lambda z: float(np.sum(np.maximum(z, 0.0)))
    z = np.array([1.3, -0.8, 4e-6])  # within h of the kink: the centered difference averages 0 and 1
    res = gradcheck.check_gradient(relu, z, (z > 0).astype(float), "d")
    assert not res and res.worst_index == (2,)
    z[2] = 0.3
    assert gradcheck.check_gradient(relu, z, (z > 0).astype(float), "d")


def test_numerical_gradient_of_a_transposed_view_writes_through():
    W = np.random.default_rng(0).normal(size=(3, 4))
    v = np.arange(4.0)
    f = lambda _: float(np.tanh(W @ v).sum())
    g = gradcheck.numerical_gradient(f, W.T)
    np.testing.assert_allclose(g, np.outer(1 - np.tanh(W @ v) ** 2, v).T, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_no_false_alarm_on_correct_gradients_of_networks_with_saturated_units(seed):
    from backproplab import matrix

    rng = np.random.default_rng(seed)
    sizes = [int(v) for v in rng.integers(1, 5, size=4)]
    weights = [rng.normal(0, 1, (sizes[i + 1], sizes[i])) for i in range(3)]
    biases = [rng.normal(0, 0.5, (sizes[i + 1], 1)) for i in range(3)]
    biases[0][0, 0] = 9.0
    X, Y = rng.normal(size=(sizes[0], 5)), rng.normal(size=(sizes[-1], 5))
    acts = ["tanh", "sigmoid", "identity"]
    _, dW, db = matrix.backprop(weights, biases, X, Y, acts)
    cost = lambda _: matrix.backprop(weights, biases, X, Y, acts)[0]
    for arrays, grads in ((weights, dW), (biases, db)):
        for p, g in zip(arrays, grads):
            assert gradcheck.check_gradient(cost, p, g)
