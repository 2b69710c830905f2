"""Notebook 09's exercise checks, without a kernel: solutions pass (visible and hidden, several
seeds), every hint fires on its mistake, parts add up to the test cells' points, and the library's
own routes are refused while a student's function runs."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import init as bl_init
from backproplab import vanishing
from backproplab._guard import resolve
from backproplab.exercises import check, get
from backproplab.exercises.nb09 import ANSWER
from backproplab.grading import GradingError
from backproplab.matrix import backprop, forward, hidden_delta, output_delta

from . import exercise_harness as harness

SEEDS = (0, 1, 2, 3)


# ------------------------------------------------------------------------------------------
# solutions, as a student would write them
def gradient_norms(weights, biases, X, Y, activations, *, mistake=None):
    m = X.shape[1]
    L = len(weights)
    A_L, caches = forward(weights, biases, X, activations)
    delta = output_delta(A_L, caches[-1][1], Y, activations[-1], "squared_error")
    dW, dZ = np.zeros(L), np.zeros(L)
    dA_last = np.linalg.norm(A_L - Y) / m
    for l in range(L, 0, -1):
        A_prev = caches[l - 1][0]
        dW[l - 1] = {"weights": np.linalg.norm(weights[l - 1]), "bias": np.linalg.norm(delta.sum(axis=1)) / m,
                     "squared": np.sum((delta @ A_prev.T / m) ** 2)}.get(mistake, np.linalg.norm(delta @ A_prev.T) / m)
        dZ[l - 1] = {"dz_sum": np.linalg.norm(delta)}.get(mistake, np.linalg.norm(delta) / m)
        if mistake == "dz_no_slope":
            dZ[l - 1] = dA_last
        if l > 1:
            dA_last = np.linalg.norm(weights[l - 1].T @ delta) / m
            delta = hidden_delta(weights[l - 1], delta, caches[l - 2][1], activations[l - 2])
    if mistake == "reversed":
        return dW[::-1], dZ[::-1]
    return dW, dZ


def inits(xavier_var=lambda i, o: 2 / (i + o), he_var=lambda i, o: 2 / i, std=False):
    def draw(var):
        def init(n_out, n_in, rng):
            v = var(n_in, n_out)
            return rng.normal(0.0, v if std else np.sqrt(v), size=(n_out, n_in))
        return init
    return draw(xavier_var), draw(he_var)


def which_trains(**changes):
    return lambda: {**ANSWER, **changes}


SOLUTIONS = {
    "ex09_grad_norms": [gradient_norms],
    "ex09_init": list(inits()),
    "ex09_which_trains": [which_trains()],
}


@pytest.mark.parametrize("ex_id", sorted(SOLUTIONS))
def test_solutions_pass_visible_and_hidden_checks(ex_id):
    check(ex_id, *SOLUTIONS[ex_id])                       # visible: quiet
    for seed in SEEDS:
        v, msg = harness.judged(ex_id, SOLUTIONS[ex_id], seed)
        assert v.passed, f"{ex_id} seed {seed}: {msg}"
    check(ex_id, *SOLUTIONS[ex_id], hidden=True)


def test_initialisers_pass_for_many_seeds_normal_and_uniform():
    """The variance test's tolerance leaves no room for false failures of a correct answer."""
    def uniform(n_out, n_in, rng, var):
        r = np.sqrt(3 * var)
        return rng.uniform(-r, r, size=(n_out, n_in))

    uni = [lambda o, i, rng: uniform(o, i, rng, 2 / (i + o)), lambda o, i, rng: uniform(o, i, rng, 2 / i)]
    for seed in range(25):
        for objs in (SOLUTIONS["ex09_init"], uni):
            v, msg = harness.judged("ex09_init", objs, 100 + seed)
            assert v.passed, f"seed {seed}: {msg}"


MISTAKES = {
    "ex09_grad_norms": {key: [lambda *a, key=key: gradient_norms(*a, mistake=key)]
                        for key in ("weights", "bias", "squared", "reversed", "dz_sum", "dz_no_slope")},
    "ex09_init": {
        "xavier_fan_in": list(inits(xavier_var=lambda i, o: 1 / i)),
        "xavier_std": list(inits(std=True)),
        "xavier_is_he": list(inits(xavier_var=lambda i, o: 2 / i)),
        "he_factor": list(inits(he_var=lambda i, o: 1 / i)),
        "he_fan_out": list(inits(he_var=lambda i, o: 2 / o)),
        "he_std": list(inits(std=True)),
    },
    "ex09_which_trains": {
        "sigmoid": [which_trains(**{"sigmoid-xavier": "trains"})],
        "relu_xavier": [which_trains(**{"relu-xavier": "trains"})],
        "large": [which_trains(**{"relu-large": "trains"})],
        "missing": [which_trains(**{"tanh-xavier": "vanishing"})],
        "swapped": [which_trains(**{"tanh-small": "exploding"})],
    },
}


@pytest.mark.parametrize(("ex_id", "key"), [(e, k) for e, ks in MISTAKES.items() for k in ks])
def test_every_hint_fires_on_its_mistake(ex_id, key):
    harness.assert_hint_fires(harness.verdict(ex_id, MISTAKES[ex_id][key]), ex_id, key)


def test_every_hint_is_tested():
    harness.assert_every_hint_has_a_mistake(MISTAKES)


def test_parts_add_up_to_the_test_cells_points():
    harness.assert_parts_sum_to_points("09-vanishing-gradients", SOLUTIONS, all_cells=True)


def test_routes_exist_and_are_refused_while_the_student_code_runs():
    for ex_id in SOLUTIONS:
        for route in get(ex_id).routes:
            assert resolve(route)
    v, msg = harness.judged("ex09_grad_norms", [vanishing.gradient_norms])
    assert not v.passed and "switched off" in msg
    v, msg = harness.judged("ex09_init", [lambda o, i, rng: bl_init.glorot_normal(o, i, rng),
                                          lambda o, i, rng: bl_init.he_normal(o, i, rng)])
    assert not v.passed and "switched off" in msg


def test_a_failed_visible_check_raises_one_line():
    with pytest.raises(GradingError) as e:
        check("ex09_grad_norms", lambda *a: gradient_norms(*a, mistake="reversed"))
    assert "\n" not in str(e.value) and "reverse order" in str(e.value)


@pytest.mark.parametrize("bad", [None, [1, 2], {"tanh-xavier": "trains"}, {**ANSWER, "relu-he": "works"}])
def test_which_trains_form_errors(bad):
    with pytest.raises(GradingError) as e:
        check("ex09_which_trains", lambda: bad)
    assert e.value.kind in ("type", "missing")


def test_backprop_is_allowed_in_gradient_norms():
    """The matrix route is the student's tool here, not a forbidden answer."""
    def via_backprop(weights, biases, X, Y, activations):
        _, dW, _ = backprop(weights, biases, X, Y, activations)
        return np.array([np.linalg.norm(g) for g in dW]), gradient_norms(weights, biases, X, Y, activations)[1]

    v, msg = harness.judged("ex09_grad_norms", [via_backprop])
    assert v.passed, msg
