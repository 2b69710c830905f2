"""backproplab.rnn: the Elman network's forward pass and BPTT agree with finite differences,
truncation and clipping do what they say, and any sequence length runs (loops, not recursion)."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import rnn
from backproplab.gradcheck import numerical_gradient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elman_problems(draw):
    """Random sizes, parameters (non-symmetric W_hh, non-zero biases), inputs, h0 and targets
    (at every step, or at the last step only)."""
    T, n_x, n_h, n_y, m = (draw(st.integers(1, 6)), draw(st.integers(1, 3)), draw(st.integers(1, 4)),
                           draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.3, 1.0, 2.0]))
    params = {"W_xh": rng.normal(0, 1, (n_h, n_x)), "W_hh": rng.normal(0, scale / np.sqrt(n_h), (n_h, n_h)),
              "b_h": rng.normal(0, 0.5, (n_h, 1)), "W_hy": rng.normal(0, 1, (n_y, n_h)), "b_y": rng.normal(0, 0.5, (n_y, 1))}
    X = rng.normal(size=(T, n_x, m))
    h0 = np.tanh(rng.normal(size=(n_h, m)))
    Y = rng.normal(size=(T, n_y, m)) if draw(st.booleans()) else rng.normal(size=(n_y, m))
    return params, X, Y, h0


def _fd(params, X, Y, h0, name):
    p = {k: v.copy() for k, v in params.items()}
    return numerical_gradient(lambda _: rnn.cost(p, X, Y, h0), p[name])


@PROPERTY
@given(elman_problems())
def test_bptt_matches_finite_differences(problem):
    params, X, Y, h0 = problem
    C, grads = rnn.bptt(params, X, Y, h0)
    assert C == pytest.approx(rnn.cost(params, X, Y, h0), rel=1e-12)
    for name in rnn.PARAM_NAMES:
        num = _fd(params, X, Y, h0, name)
        assert grads[name].shape == params[name].shape
        err = np.max(np.abs(grads[name] - num))
        assert err <= 1e-6 * max(1.0, np.max(np.abs(num))), f"{name}: {err:.2e}"


@PROPERTY
@given(elman_problems())
def test_hidden_gradients_match_finite_differences_on_h0_and_the_output_term(problem):
    params, X, Y, h0 = problem
    G = rnn.hidden_gradients(params, X, Y, h0)
    T, _, m = X.shape
    assert G.shape == (T + 1, h0.shape[0], m)
    num = numerical_gradient(lambda h: rnn.cost(params, X, Y, h), h0.copy())
    np.testing.assert_allclose(G[0], num, rtol=1e-6, atol=1e-8)
    _, Yhat = rnn.forward(params, X, h0)
    e_T = Yhat[-1] - (Y[-1] if Y.ndim == 3 else Y)       # nothing comes back from after the last step
    np.testing.assert_allclose(G[T], params["W_hy"].T @ e_T / m, rtol=1e-12, atol=1e-14)


@PROPERTY
@given(elman_problems(), st.integers(1, 7))
def test_truncated_bptt_is_the_sum_of_the_chunks(problem, k):
    """truncate=k: each chunk of k steps is backpropagated on its own, from the state it starts in."""
    params, X, Y, h0 = problem
    T = X.shape[0]
    Y_all = Y if Y.ndim == 3 else np.concatenate([np.zeros((T - 1, *Y.shape)), Y[None]])
    mask_last = Y.ndim == 2
    _, truncated = rnn.bptt(params, X, Y, h0, truncate=k)
    H, _ = rnn.forward(params, X, h0)
    total = {n: np.zeros_like(v) for n, v in params.items()}
    for start in range(0, T, k):
        stop = min(T, start + k)
        Yc = Y if (mask_last and stop == T) else Y_all[start:stop]
        if mask_last and stop < T:
            continue                                     # no target inside this chunk: no gradient
        _, g = rnn.bptt(params, X[start:stop], Yc, H[start])
        for n, value in g.items():
            total[n] += value
    for n, value in total.items():
        np.testing.assert_allclose(truncated[n], value, rtol=1e-10, atol=1e-12)
    _, full = rnn.bptt(params, X, Y, h0)
    _, long_chunks = rnn.bptt(params, X, Y, h0, truncate=T)
    for n in full:
        np.testing.assert_allclose(long_chunks[n], full[n], rtol=1e-12, atol=1e-14)


def test_forward_shapes_and_h0_default():
    rng = np.random.default_rng(0)
    p = rnn.init_elman(3, 4, 2, rng)
    X = rng.normal(size=(5, 3, 6))
    H, Yhat = rnn.forward(p, X)
    assert H.shape == (6, 4, 6) and Yhat.shape == (5, 2, 6)
    assert np.array_equal(H[0], np.zeros((4, 6)))
    np.testing.assert_allclose(H[1], np.tanh(p["W_xh"] @ X[0] + p["b_h"]))
    np.testing.assert_allclose(Yhat[4], p["W_hy"] @ H[5] + p["b_y"])


def test_long_sequences_run_without_recursion():
    """Far past Python's recursion limit (1000 frames)."""
    rng = np.random.default_rng(1)
    p = rnn.init_elman(1, 3, 1, rng)
    X, Y = rnn.delayed_sum_task(5000, 2, rng)
    C, g = rnn.bptt(p, X, Y)
    H, _ = rnn.forward(p, X)
    assert np.isfinite(C) and all(np.all(np.isfinite(v)) for v in g.values())
    g2 = rnn.backward(p, X, Y, H)
    for k in g:
        np.testing.assert_allclose(g2[k], g[k], rtol=1e-12)


def test_init_elman_sets_every_singular_value_of_W_hh_to_the_radius():
    p = rnn.init_elman(2, 8, 1, np.random.default_rng(2), radius=1.3)
    np.testing.assert_allclose(np.linalg.svd(p["W_hh"], compute_uv=False), 1.3, rtol=1e-12)
    assert p["W_xh"].shape == (8, 2) and p["W_hy"].shape == (1, 8)
    with pytest.raises(TypeError, match="Generator"):
        rnn.init_elman(2, 8, 1, 0)


def test_gradients_vanish_over_time_for_a_small_radius_and_explode_for_a_large_one():
    ratios = {}
    for rho in (0.5, 3.0):
        rng = np.random.default_rng(1)
        p = rnn.init_elman(1, 32, 1, rng, radius=rho, input_scale=0.5)
        G = rnn.hidden_gradients(p, rng.normal(size=(40, 1, 8)), rng.normal(size=(1, 8)))
        ratios[rho] = np.linalg.norm(G[1]) / np.linalg.norm(G[40])
    assert ratios[0.5] < 1e-8 and ratios[3.0] > 1e4


def test_step_contributions_sum_to_the_size_of_dW_hh_terms():
    rng = np.random.default_rng(3)
    p = rnn.init_elman(2, 4, 1, rng)
    X, Y = rng.normal(size=(6, 2, 3)), rng.normal(size=(6, 1, 3))
    h0 = rng.normal(size=(4, 3))
    c = rnn.step_contributions(p, X, Y, h0)
    _, g = rnn.bptt(p, X, Y, h0)
    assert c.shape == (6,) and np.all(c >= 0)
    assert np.linalg.norm(g["W_hh"]) <= c.sum() + 1e-12          # the triangle inequality


@given(st.dictionaries(st.sampled_from(rnn.PARAM_NAMES), st.integers(1, 4), min_size=1),
       st.floats(1e-3, 1e3), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_clip_by_norm_caps_the_global_norm_and_keeps_the_direction(sizes, max_norm, seed):
    rng = np.random.default_rng(seed)
    grads = {k: rng.normal(size=(n, 2)) * rng.uniform(0.01, 100) for k, n in sizes.items()}
    before = {k: v.copy() for k, v in grads.items()}
    clipped = rnn.clip_by_norm(grads, max_norm)
    norm = rnn.global_norm(grads)
    for k, g in grads.items():
        np.testing.assert_array_equal(g, before[k])                 # the input is untouched
        assert clipped[k] is not g
    assert rnn.global_norm(clipped) <= max_norm * (1 + 1e-12) or norm <= max_norm
    factor = min(1.0, max_norm / norm)
    for k, g in grads.items():
        np.testing.assert_allclose(clipped[k], g * factor, rtol=1e-12)


def test_clip_rejects_a_non_positive_threshold():
    with pytest.raises(ValueError, match="positive"):
        rnn.clip_by_norm({"a": np.ones(2)}, 0.0)


def test_clipping_lets_a_large_learning_rate_train():
    rng = np.random.default_rng(0)
    p = rnn.init_elman(1, 16, 1, rng, radius=1.2, input_scale=0.5)
    X, Y = rnn.delayed_sum_task(30, 32, rng, delay=3)
    _, plain, _ = rnn.train(p, X, Y, lr=0.05, steps=200)
    _, clipped, norms = rnn.train(p, X, Y, lr=0.05, steps=200, max_norm=1.0)
    assert not np.isfinite(plain[-1])                  # overflows without clipping
    assert clipped[-1] < 0.05 * clipped[0] and np.all(np.isfinite(norms))


@pytest.mark.parametrize(("bad", "match"), [
    ({"W_xh": np.ones((2, 1))}, "missing"),
    ({"W_xh": np.ones((2, 1)), "W_hh": np.ones((3, 3)), "b_h": np.ones((2, 1)), "W_hy": np.ones((1, 2)),
      "b_y": np.ones((1, 1))}, "W_hh"),
])
def test_bad_params_get_a_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        rnn.forward(bad, np.ones((2, 1, 1)))


def test_bad_shapes_get_a_clear_error():
    p = rnn.init_elman(2, 3, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(T, n_x, m\)"):
        rnn.forward(p, np.ones((4, 2)))
    with pytest.raises(ValueError, match="h0"):
        rnn.forward(p, np.ones((4, 2, 5)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="last step only"):
        rnn.cost(p, np.ones((4, 2, 5)), np.ones((3, 1, 5)))
    with pytest.raises(ValueError, match="truncate"):
        rnn.bptt(p, np.ones((4, 2, 5)), np.ones((4, 1, 5)), truncate=0)
