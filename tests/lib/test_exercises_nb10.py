"""Notebook 10's checks without a kernel: the solution passes the hidden cases for several seeds,
every hint fires on the mistake it names, and the library's routes are refused while the
student's code runs."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import matrix
from backproplab.activations import get as activation
from backproplab.exercises import evaluate, get

from . import exercise_harness as harness


# -- the solution, as the notebook writes it ---------------------------------------------------
def fa_backward(weights, feedback, caches, activations, delta_L):
    L = len(weights)
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, _ = caches[l - 1]
        m = delta.shape[1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = delta.sum(axis=1, keepdims=True) / m
        if l > 1:
            Z = caches[l - 2][1]
            delta = activation(activations[l - 2]).df(Z) * (feedback[l - 2] @ delta)
    return dW, db


def residual_jacobian(weights, biases, X, activations):
    _, caches = matrix.forward(weights, biases, X, activations)
    m, L = X.shape[1], len(weights)
    delta = activation(activations[-1]).df(caches[-1][1])          # (1, m): d a / d z^L per example
    rows_W, rows_b = [None] * L, [None] * L
    for l in range(L, 0, -1):
        A_prev = caches[l - 1][0]
        rows_W[l - 1] = np.einsum("ij,kj->jik", delta, A_prev).reshape(m, -1)
        rows_b[l - 1] = delta.T
        if l > 1:
            delta = activation(activations[l - 2]).df(caches[l - 2][1]) * (weights[l - 1].T @ delta)
    return np.hstack(rows_W + rows_b)


def lm_step(J, r, theta, lam):
    return theta - np.linalg.solve(J.T @ J + lam * np.eye(theta.size), J.T @ r)


def quantize(W, bits, alpha):
    q = 2 ** (bits - 1) - 1
    s = alpha / q
    return s * np.clip(np.round(W / s), -q, q)


def hidden_size_sweep(sizes, seeds, fit):
    train = np.zeros((len(sizes), len(seeds)))
    val = np.zeros((len(sizes), len(seeds)))
    for i, n in enumerate(sizes):
        for k, seed in enumerate(seeds):
            train[i, k], val[i, k] = fit(n, seed)
    return train, val


def choose_hidden_size(sizes, train_losses, val_losses):
    mean = val_losses.mean(axis=1)
    return sizes[int(np.argmin(mean))]


SOLUTION = {
    "ex10_feedback_alignment": (fa_backward,),
    "ex10_levenberg_marquardt": (residual_jacobian, lm_step),
    "ex10_quantize": (quantize,),
    "ex10_hidden_size": (hidden_size_sweep, choose_hidden_size),
}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("ex_id", sorted(SOLUTION))
def test_the_solution_passes_visible_and_hidden_cases(ex_id, seed):
    ex = get(ex_id)
    v = evaluate(ex, SOLUTION[ex_id], ex.all_cases(np.random.default_rng(seed)))
    assert v.passed, v.message


def test_parts_sum_to_the_points():
    assert [get(e).points for e in sorted(SOLUTION)] == [3, 3, 4, 3]


def _fa(kind):
    def fa(weights, feedback, caches, activations, delta_L):
        L = len(weights)
        dW, db = [None] * L, [None] * L
        delta = delta_L
        for l in range(L, 0, -1):
            A_prev, _ = caches[l - 1]
            dW[l - 1] = delta @ A_prev.T / delta.shape[1]
            db[l - 1] = delta.mean(axis=1, keepdims=True)
            if l > 1:
                Z = caches[l - 2][1]
                back = {"used_WT": weights[l - 1].T, "B_transposed": feedback[l - 2].T}.get(kind, feedback[l - 2])
                slope = 1.0 if kind == "missing_slope" else activation(activations[l - 2]).df(Z)
                delta = slope * (back @ delta)
        return dW, db
    return fa


@pytest.mark.parametrize("key", ["used_WT", "B_transposed", "missing_slope"])
def test_feedback_alignment_hints_fire_and_spare_the_output_layer(key):
    v, msg = harness.failing("ex10_feedback_alignment", (_fa(key),))
    assert get("ex10_feedback_alignment").hint(key) in msg
    lost = [p.name for p in v.parts if p.earned == 0]
    # a transposed B does not even fit a non-square layer: that case fails as a whole
    assert lost == ["hidden"] or (key == "B_transposed" and "hidden" in lost)


def test_feedback_alignment_refuses_the_library_and_the_matrix_backward():
    from backproplab import feedback_alignment

    def delegate(weights, feedback, caches, activations, delta_L):
        return feedback_alignment.fa_backward(weights, feedback, caches, activations, delta_L)

    def trick(weights, feedback, caches, activations, delta_L):
        return matrix.backward([weights[0], *[B.T for B in feedback]], caches, activations, delta_L)

    for fn in (delegate, trick):
        _, msg = harness.failing("ex10_feedback_alignment", (fn,))
        assert "switched off" in msg


def _jac(kind):
    def jac(weights, biases, X, activations):
        J = residual_jacobian(weights, biases, X, activations)
        nW = sum(W.size for W in weights)
        if kind == "jac_mean":
            return J / X.shape[1]
        if kind == "jac_biases_first":
            return np.hstack([J[:, nW:], J[:, :nW]])
        cols, k = [], 0
        for W in weights:
            cols += list(k + np.arange(W.size).reshape(W.shape).ravel(order="F"))
            k += W.size
        return J[:, cols + list(range(nW, J.shape[1]))]
    return jac


def _lm(kind):
    def step(J, r, theta, lam):
        sign = -1.0 if kind == "lm_damping_sign" else (0.0 if kind == "lm_no_damping" else 1.0)
        d = np.linalg.solve(J.T @ J + sign * lam * np.eye(theta.size), J.T @ r)
        return theta + d if kind == "lm_step_sign" else theta - d
    return step


@pytest.mark.parametrize("key", ["jac_mean", "jac_biases_first", "jac_column_major"])
def test_jacobian_hints_fire(key):
    v, msg = harness.failing("ex10_levenberg_marquardt", (_jac(key), lm_step))
    assert get("ex10_levenberg_marquardt").hint(key) in msg
    assert [p.name for p in v.parts if p.earned == 0] == ["jacobian"]


@pytest.mark.parametrize("key", ["lm_damping_sign", "lm_step_sign", "lm_no_damping"])
def test_lm_step_hints_fire(key):
    v, msg = harness.failing("ex10_levenberg_marquardt", (residual_jacobian, _lm(key)))
    assert get("ex10_levenberg_marquardt").hint(key) in msg
    assert [p.name for p in v.parts if p.earned == 0] == ["step"]


def test_jacobian_by_finite_differences_is_refused():
    from backproplab.gradcheck import numerical_gradient

    def fd(weights, biases, X, activations):
        return numerical_gradient(lambda W: 0.0, weights[0].copy())

    _, msg = harness.failing("ex10_levenberg_marquardt", (fd, lm_step))
    assert "switched off" in msg


def _uniform(W, bits, alpha, q, rounding=np.round, clip=True):
    s = alpha / q
    codes = rounding(W / s)
    return s * (np.clip(codes, -q, q) if clip else codes)


@pytest.mark.parametrize("key, fn, part", [
    ("no_rounding", lambda W, bits, alpha: np.clip(W, -alpha, alpha), "grid"),
    ("no_clipping", lambda W, bits, alpha: _uniform(W, bits, alpha, 2 ** (bits - 1) - 1, clip=False), "clip"),
    ("levels", lambda W, bits, alpha: _uniform(W, bits, alpha, 2 ** (bits - 1)), "grid"),
    ("floor", lambda W, bits, alpha: _uniform(W, bits, alpha, 2 ** (bits - 1) - 1, rounding=np.floor), "grid"),
])
def test_quantize_hints_fire(key, fn, part):
    v, msg = harness.failing("ex10_quantize", (fn,))
    assert get("ex10_quantize").hint(key) in msg
    assert part in [p.name for p in v.parts if p.earned == 0]


def test_quantize_in_place_is_caught():
    def in_place(W, bits, alpha):
        q = 2 ** (bits - 1) - 1
        W /= alpha / q
        np.round(W, out=W)
        np.clip(W, -q, q, out=W)
        W *= alpha / q
        return W

    _, msg = harness.failing("ex10_quantize", (in_place,))
    assert "changed W" in msg


@pytest.mark.parametrize("key, objs", [
    ("sweep_swapped", (lambda sizes, seeds, fit: hidden_size_sweep(sizes, seeds, fit)[::-1], choose_hidden_size)),
    ("choose_by_train", (hidden_size_sweep, lambda s, t, v: s[int(np.argmin(t.mean(axis=1)))])),
    ("choose_best_seed", (hidden_size_sweep, lambda s, t, v: s[int(np.argmin(v.min(axis=1)))])),
    ("choose_index", (hidden_size_sweep, lambda s, t, v: int(np.argmin(v.mean(axis=1))))),
])
def test_hidden_size_hints_fire(key, objs):
    _, msg = harness.failing("ex10_hidden_size", objs)
    assert get("ex10_hidden_size").hint(key) in msg


def test_ties_go_to_the_smaller_size_and_fit_runs_once_per_pair():
    def larger_on_tie(sizes, train, val):
        mean = val.mean(axis=1)
        return sizes[len(sizes) - 1 - int(np.argmin(mean[::-1]))]

    _, msg = harness.failing("ex10_hidden_size", (hidden_size_sweep, larger_on_tie))
    assert "tie" in msg

    def twice(sizes, seeds, fit):
        hidden_size_sweep(sizes, seeds, fit)
        return hidden_size_sweep(sizes, seeds, fit)

    _, msg = harness.failing("ex10_hidden_size", (twice, choose_hidden_size))
    assert "exactly once" in msg
