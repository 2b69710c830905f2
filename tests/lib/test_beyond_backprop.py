"""Notebook 10's library modules: feedback alignment, Levenberg-Marquardt, quantization and the
hidden-size sweep, each against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import feedback_alignment, hidden_size, init, levenberg_marquardt, matrix, quantization
from backproplab.grading import DelegationError, forbid

from .helpers import rel_diff

OUTPUTS = [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "squared_error")]


def _problem(seed, sizes, hidden="tanh", output=("identity", "squared_error"), m=5):
    rng = np.random.default_rng(seed)
    W, b = init.init_network(sizes, rng, "glorot")
    b = [rng.normal(0, 0.2, x.shape) for x in b]
    X = rng.normal(size=(sizes[0], m))
    if output[0] == "softmax":
        Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], m)]
    elif output[0] == "sigmoid":
        Y = (rng.random((sizes[-1], m)) < 0.5).astype(float)
    else:
        Y = rng.normal(size=(sizes[-1], m))
    return rng, W, b, X, Y, [hidden] * (len(sizes) - 2) + [output[0]], output[1]


# -- feedback alignment ----------------------------------------------------------------------------
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu"])
def test_feedback_alignment_with_W_transposed_is_backprop(output, hidden):
    _, W, b, X, Y, acts, loss = _problem(1, [3, 4, 5, 3], hidden, output)
    fa = feedback_alignment.fa_backprop(W, b, [w.T for w in W[1:]], X, Y, acts, loss)
    bp = matrix.backprop(W, b, X, Y, acts, loss)
    assert fa[0] == pytest.approx(bp[0])
    for a, c in zip(fa[1] + fa[2], bp[1] + bp[2]):
        assert rel_diff(a, c) < 1e-12


def test_random_feedback_changes_only_the_hidden_updates():
    rng, W, b, X, Y, acts, loss = _problem(2, [3, 4, 5, 2], "tanh", OUTPUTS[0])
    B = feedback_alignment.random_feedback(W, rng)
    assert [x.shape for x in B] == [w.T.shape for w in W[1:]]
    _, dW, db = feedback_alignment.fa_backprop(W, b, B, X, Y, acts, loss)
    _, tW, tb = matrix.backprop(W, b, X, Y, acts, loss)
    np.testing.assert_allclose(dW[-1], tW[-1])
    np.testing.assert_allclose(db[-1], tb[-1])
    assert rel_diff(dW[0], tW[0]) > 1e-3
    with pytest.raises(ValueError, match="feedback"):
        feedback_alignment.fa_backprop(W, b, B[:1], X, Y, acts, loss)


def test_update_angle():
    u = [np.array([[1.0, 0.0]]), np.array([0.0])]
    assert feedback_alignment.update_angle(u, u) == pytest.approx(0.0, abs=1e-6)
    assert feedback_alignment.update_angle(u, [np.array([[0.0, 2.0]]), np.array([0.0])]) == pytest.approx(90.0)
    assert feedback_alignment.update_angle(np.array([1.0, 1.0]), np.array([-2.0, -2.0])) == pytest.approx(180.0)
    assert feedback_alignment.update_angle(np.zeros(2), np.ones(2)) == 90.0


def test_feedback_alignment_learns_and_is_protected():
    from backproplab import optim, train

    rng, W, b, X, Y, acts, loss = _problem(3, [2, 8, 1], "tanh", OUTPUTS[1], m=40)
    Y = (X[0:1] * X[1:2] > 0).astype(float)
    B = feedback_alignment.random_feedback(W, rng)
    _, _, h = train.train(W, b, X, Y, acts, loss, optim.Adam(0.05), epochs=150, batch_size=40,
                          grad_fn=feedback_alignment.fa_grad_fn(B))
    assert h.loss[-1] < 0.5 * h.loss[0]
    with forbid("backproplab.feedback_alignment"), pytest.raises(DelegationError):
        feedback_alignment.fa_backprop(W, b, B, X, Y, acts, loss)


# -- Levenberg-Marquardt -----------------------------------------------------------------------------
def _fd_jacobian(W, b, X, acts, h=1e-6):
    like = W + b
    theta = levenberg_marquardt.flatten_params(like)
    L = len(W)

    def out(th):
        ps = levenberg_marquardt.unflatten_params(th, like)
        return matrix.forward(ps[:L], ps[L:], X, acts)[0].ravel(order="F")

    cols = []
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        cols.append((out(theta + e) - out(theta - e)) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("sizes, acts", [([1, 3, 1], ["tanh", "identity"]), ([2, 4, 3, 2], ["sigmoid", "tanh", "tanh"]),
                                         ([3, 1], ["softplus"])])
def test_residual_jacobian_matches_finite_differences(sizes, acts):
    rng = np.random.default_rng(4)
    W, b = init.init_network(sizes, rng, "glorot")
    X = rng.normal(size=(sizes[0], 6))
    J = levenberg_marquardt.residual_jacobian(W, b, X, acts)
    assert J.shape == (6 * sizes[-1], sum(w.size for w in W) + sum(c.size for c in b))
    assert rel_diff(J, _fd_jacobian(W, b, X, acts)) < 1e-7


def test_flatten_roundtrip_and_gradient_is_J_transpose_r_over_m():
    _, W, b, X, Y, acts, loss = _problem(5, [2, 3, 1], "tanh", OUTPUTS[2], m=7)
    theta = levenberg_marquardt.flatten_params(W + b)
    back = levenberg_marquardt.unflatten_params(theta, W + b)
    assert all(np.array_equal(x, y) for x, y in zip(back, W + b))
    J = levenberg_marquardt.residual_jacobian(W, b, X, acts)
    r = levenberg_marquardt.residuals(W, b, X, Y, acts)
    c, dW, db = matrix.backprop(W, b, X, Y, acts, loss)
    assert levenberg_marquardt.cost(W, b, X, Y, acts) == pytest.approx(c)
    assert rel_diff(J.T @ r / 7, levenberg_marquardt.flatten_params(dW + db)) < 1e-12


def test_lm_step_solves_the_damped_normal_equations():
    rng = np.random.default_rng(6)
    J, r, theta = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)
    for lam in (1e-3, 1.0, 1e6):
        A = np.vstack([J, np.sqrt(lam) * np.eye(3)])
        want = theta + np.linalg.lstsq(A, np.concatenate([-r, np.zeros(3)]), rcond=None)[0]
        assert rel_diff(levenberg_marquardt.lm_step(J, r, theta, lam), want) < 1e-10
    # heavy damping: a short step along the negative gradient J^T r
    step = levenberg_marquardt.lm_step(J, r, theta, 1e8) - theta
    assert rel_diff(step, -J.T @ r / 1e8) < 1e-6


def test_lm_fit_lowers_the_cost_every_step_and_leaves_inputs_alone():
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, (1, 30))
    Y = np.sin(3 * X)
    W, b = init.init_network([1, 6, 1], rng, "glorot")
    W0 = [w.copy() for w in W]
    W1, b1, h = levenberg_marquardt.fit(W, b, X, Y, ["tanh", "identity"], steps=40)
    assert len(h.loss) == 41 and all(x >= y for x, y in zip(h.loss, h.loss[1:]))
    assert h.loss[-1] < 1e-3
    assert levenberg_marquardt.cost(W1, b1, X, Y, ["tanh", "identity"]) == pytest.approx(h.loss[-1])
    assert all(np.array_equal(w, w0) for w, w0 in zip(W, W0))


# -- quantization -------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_quantize_snaps_to_the_nearest_level_and_clips(bits):
    rng = np.random.default_rng(bits)
    W = rng.normal(size=(6, 7))
    alpha = float(np.quantile(np.abs(W), 0.8))
    q = quantization.levels(bits)
    s = alpha / q
    Wq = quantization.quantize(W, bits, alpha)
    grid = s * np.arange(-q, q + 1)
    nearest = grid[np.argmin(np.abs(W[..., None] - grid), axis=-1)]
    np.testing.assert_allclose(Wq, nearest, rtol=1e-12, atol=1e-15)
    assert np.max(np.abs(Wq)) <= alpha * (1 + 1e-12)
    inside = np.abs(W) <= alpha
    assert np.max(np.abs(Wq - W)[inside]) <= s / 2 * (1 + 1e-9)
    np.testing.assert_allclose(quantization.quantize(Wq, bits, alpha), Wq)     # idempotent
    assert len(np.unique(np.round(Wq / s))) <= 2 * q + 1


def test_levels_calibration_and_network():
    assert [quantization.levels(b) for b in (2, 4, 8)] == [1, 7, 127]
    with pytest.raises(ValueError):
        quantization.levels(1)
    W = np.array([[0.1, -2.0], [0.5, 0.3]])
    assert quantization.clipping_range(W) == 2.0
    assert quantization.clipping_range(W, "percentile", 50.0) == pytest.approx(0.4)
    Ws = quantization.quantize_network([W, W.T], 8)
    assert [w.shape for w in Ws] == [(2, 2), (2, 2)]
    assert np.max(np.abs(Ws[0] - W)) <= 2.0 / 127 / 2 + 1e-12


# -- the hidden-size sweep -----------------------------------------------------------------------------
def test_sweep_calls_fit_once_per_pair_and_choose_breaks_ties_to_the_smaller():
    calls = []

    def fit(n, seed):
        calls.append((n, seed))
        return 1.0 / n, (np.log2(n) - 2) ** 2 + 0.01 * seed

    train, val = hidden_size.sweep([1, 2, 4, 8], [0, 1, 2], fit)
    assert sorted(calls) == sorted((n, s) for n in [1, 2, 4, 8] for s in [0, 1, 2])
    assert train.shape == val.shape == (4, 3)
    assert hidden_size.choose([1, 2, 4, 8], train, val) == 4
    val[1] = val[2]
    assert hidden_size.choose([1, 2, 4, 8], train, val) == 2
