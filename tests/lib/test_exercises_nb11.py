"""Notebook 11's exercise checks, without a kernel: solutions pass (visible and hidden, several
seeds, including a sequence longer than the recursion limit), every hint fires on its mistake,
parts add up to the test cells' points, and the library's own routes are refused."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import rnn
from backproplab._guard import resolve
from backproplab.exercises import check, get
from backproplab.exercises.nb11 import LONG_T

from . import exercise_harness as harness

SEEDS = (0, 1, 2)


# ------------------------------------------------------------------------------------------
# solutions, as a student would write them (with a switch for one mistake at a time)
def elman_forward(params, X, h0, mistake=None):
    T = X.shape[0]
    H = np.zeros((T + 1, *h0.shape))
    H[0] = h0
    Yhat = np.zeros((T, params["W_hy"].shape[0], X.shape[2]))
    W_hh = params["W_hh"].T if mistake == "whh_transposed" else params["W_hh"]
    for t in range(1, T + 1):
        prev = {"no_recurrence": 0 * h0, "stale_state": h0}.get(mistake, H[t - 1])
        z = params["W_xh"] @ X[t - 1] + W_hh @ prev + params["b_h"]
        H[t] = np.tanh(z)
        state = {"yhat_prev": H[t - 1], "yhat_from_z": z}.get(mistake, H[t])
        Yhat[t - 1] = params["W_hy"] @ state + params["b_y"]
    return (H[1:] if mistake == "h0_missing" else H), Yhat


def elman_bptt(params, X, Y, H, mistake=None):
    T, _, m = X.shape
    g = {k: np.zeros_like(v) for k, v in params.items()}
    back = np.zeros_like(H[0])
    for t in range(T, 1 if mistake == "skips_step" else 0, -1):
        e = params["W_hy"] @ H[t] + params["b_y"] - Y[t - 1]
        dh = params["W_hy"].T @ e + (0 if mistake == "no_recurrent" else back)
        delta = dh if mistake == "no_slope" else (1 - H[t] ** 2) * dh
        g["W_xh"] += delta @ X[t - 1].T
        g["W_hh"] += delta @ (H[t] if mistake == "pairs_h_t" else H[t - 1]).T
        g["b_h"] += delta.sum(axis=1, keepdims=True)
        g["W_hy"] += e @ (H[t - 1] if mistake == "output_prev" else H[t]).T
        g["b_y"] += e.sum(axis=1, keepdims=True)
        back = params["W_hh"].T @ delta
    return {k: v / m for k, v in g.items()}


def clip_gradients(grads, max_norm, mistake=None):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    if mistake == "per_array":
        return {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}
    if mistake == "elementwise":
        return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}
    if mistake == "always":
        return {k: g * max_norm / norm for k, g in grads.items()}
    if mistake == "in_place":
        for g in grads.values():
            g *= min(1.0, max_norm / norm)
        return grads
    return {k: g * (max_norm / norm if norm > max_norm else 1.0) for k, g in grads.items()}


SOLUTIONS = {"ex11_forward": [elman_forward], "ex11_bptt": [elman_bptt], "ex11_clip": [clip_gradients]}


@pytest.mark.parametrize("ex_id", sorted(SOLUTIONS))
def test_solutions_pass_visible_and_hidden_checks(ex_id):
    check(ex_id, *SOLUTIONS[ex_id])
    for seed in SEEDS:
        v, msg = harness.judged(ex_id, SOLUTIONS[ex_id], seed)
        assert v.passed, f"{ex_id} seed {seed}: {msg}"


def test_hidden_cases_include_a_sequence_longer_than_the_recursion_limit():
    import sys

    assert LONG_T > sys.getrecursionlimit()
    for ex_id in ("ex11_forward", "ex11_bptt"):
        assert any(c.args[1].shape[0] == LONG_T for c in get(ex_id).cases(np.random.default_rng(0)))


def test_a_recursive_bptt_loses_the_long_sequence_only():
    def recursive(params, X, Y, H):
        T, _, m = X.shape
        g = {k: np.zeros_like(v) for k, v in params.items()}

        def step(t, back):
            if t == 0:
                return
            e = params["W_hy"] @ H[t] + params["b_y"] - Y[t - 1]
            delta = (1 - H[t] ** 2) * (params["W_hy"].T @ e + back)
            g["W_xh"] += delta @ X[t - 1].T
            g["W_hh"] += delta @ H[t - 1].T
            g["b_h"] += delta.sum(axis=1, keepdims=True)
            g["W_hy"] += e @ H[t].T
            g["b_y"] += e.sum(axis=1, keepdims=True)
            step(t - 1, params["W_hh"].T @ delta)

        step(T, np.zeros_like(H[0]))
        return {k: v / m for k, v in g.items()}

    v, msg = harness.judged("ex11_bptt", [recursive])
    bad = [c for c in v.cases if not c.ok]
    assert bad and all("RecursionError" in c.message for c in bad), msg
    assert len(bad) == len(get("ex11_bptt").parts)          # the long sequence, once per part


MISTAKES = {
    "ex11_forward": ("no_recurrence", "stale_state", "whh_transposed", "h0_missing", "yhat_prev", "yhat_from_z"),
    "ex11_bptt": ("no_recurrent", "no_slope", "pairs_h_t", "skips_step", "output_prev"),
    "ex11_clip": ("per_array", "elementwise", "always", "in_place"),
}


@pytest.mark.parametrize(("ex_id", "key"), [(e, k) for e, ks in MISTAKES.items() for k in ks])
def test_every_hint_fires_on_its_mistake(ex_id, key):
    fn = SOLUTIONS[ex_id][0]
    harness.assert_hint_fires(harness.verdict(ex_id, [lambda *a: fn(*a, mistake=key)]), ex_id, key)


def test_every_hint_is_tested():
    harness.assert_every_hint_has_a_mistake(MISTAKES)


def test_partial_credit_per_part():
    """A W_hh mistake costs the W_hh part only; a missing 1/m everywhere costs every part."""
    v, _ = harness.judged("ex11_bptt", [lambda *a: elman_bptt(*a, mistake="pairs_h_t")])
    earned = {p.name: p.earned for p in v.parts}
    assert earned == {"output": 1, "W_xh": 1, "W_hh": 0, "b_h": 1}
    v, _ = harness.judged("ex11_bptt", [lambda *a: {k: 3.0 * g for k, g in elman_bptt(*a).items()}])
    assert v.score == 0
    v, _ = harness.judged("ex11_forward", [lambda *a: elman_forward(*a, mistake="yhat_prev")])
    assert {p.name: p.earned for p in v.parts} == {"H": 1, "Yhat": 0}


def test_batch_size_mistake_is_named():
    v, msg = harness.judged("ex11_bptt", [lambda params, X, Y, H: {k: g * X.shape[2] for k, g in
                                                                     elman_bptt(params, X, Y, H).items()}])
    assert not v.passed and "batch size" in msg


def test_parts_add_up_to_the_test_cells_points():
    harness.assert_parts_sum_to_points("11-backprop-through-time", SOLUTIONS, all_cells=True)


def test_routes_exist_and_are_refused_while_the_student_code_runs():
    for ex_id in SOLUTIONS:
        for route in get(ex_id).routes:
            assert resolve(route)
    cases = [("ex11_forward", lambda p, X, h0: rnn.forward(p, X, h0)),
             ("ex11_bptt", lambda p, X, Y, H: rnn.backward(p, X, Y, H)),
             ("ex11_clip", lambda g, t: rnn.clip_by_norm(g, t))]
    for ex_id, fn in cases:
        v, msg = harness.judged(ex_id, [fn])
        assert not v.passed and "switched off" in msg, ex_id


def test_finite_difference_reference_rejects_small_errors():
    """The judge's tolerance is far below the size of a one-step slip on the long sequence."""
    def almost(params, X, Y, H):
        g = elman_bptt(params, X, Y, H)
        g["W_hh"] = g["W_hh"] * (1 + 1e-3)
        return g

    v, msg = harness.judged("ex11_bptt", [almost])
    assert {p.name: p.earned for p in v.parts}["W_hh"] == 0, msg
