"""The checks of notebook 06 (backprop in matrix form), without a kernel.

A correct solution (written here) passes the hidden cases for several seeds; every hint fires on
the mistake it names (the sensitivity variants of tests/notebooks/variants, run on top of this
solution); the references agree with the exact symbolic route; parts add up to the test cells'
points; malformed answers fail with a one-line message instead of crashing the judge.
"""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import symbolic
from backproplab.activations import get as activation
from backproplab.exercises import get, nb06
from backproplab.grading import forbid

from . import exercise_harness as harness

AID = "06-matrix-backprop"
IDS = ("ex06_forward", "ex06_cost_delta", "ex06_backward")

SOLUTION = '''
def forward(weights, biases, X, activations):
    A = X
    caches = []
    for W, b, name in zip(weights, biases, activations):
        Z = W @ A + b
        caches.append((A, Z))
        A = activation(name).f(Z)
    return A, caches


def backward(weights, caches, activations, delta_L):
    L, m = len(weights), delta_L.shape[1]
    dW, db = [None] * L, [None] * L
    delta = delta_L
    for l in range(L, 0, -1):
        A_prev, _ = caches[l - 1]
        dW[l - 1] = delta @ A_prev.T / m
        db[l - 1] = np.sum(delta, axis=1, keepdims=True) / m
        if l > 1:
            delta = activation(activations[l - 2]).df(caches[l - 2][1]) * (weights[l - 1].T @ delta)
    return dW, db


def cost_and_delta(A_L, Z_L, Y, activation_name):
    C = 0.5 * np.sum((A_L - Y) ** 2) / A_L.shape[1]
    return float(C), activation(activation_name).df(Z_L) * (A_L - Y)
'''


def verdict(ex_id: str, seed: int | None, replace: str | None = None):
    """Judged on the notebook's names: the setup's imports, the solution, then ``replace`` on top."""
    return harness.verdict(ex_id, harness.run_cells({"np": np, "activation": activation}, SOLUTION, replace), seed)


# the common tests (tests/lib/exercise_harness.py): test_the_solution_passes_visible_and_hidden_cases,
#   test_every_hint_fires_on_its_mistake_and_each_wrong_variant_loses_points,
#   test_parts_add_up_to_the_test_cells_points
globals().update(harness.variant_tests(AID, IDS, verdict))


def test_partial_credit_a_right_dW_with_a_wrong_db_keeps_the_dW_points():
    wrong, _ = harness.load_variants(AID)
    v = verdict("ex06_backward", 1, wrong["ex06_backward"]["bias_gradient_over_the_wrong_axis"])
    earned = {p.name: p.earned for p in v.parts}
    assert earned == {"dW": 3.0, "db": 0.0}


def test_the_references_agree_with_the_exact_oracle_on_the_visible_networks():
    # the loops' gradients (ex06_backward) and cost, and SymPy's output deltas (ex06_cost_delta),
    # against symbolic.backprop of the same network
    for Ws, bs, X, Y, acts in [(nb06.EX_W, nb06.EX_B, nb06.EX_X, nb06.EX_Y, ["sigmoid", "sigmoid"]),
                               (*nb06._example2(), nb06.EX2_ACTS)]:
        C, dW, db = nb06._loops(Ws, bs, X, Y, acts)
        C2, dW2, db2 = symbolic.backprop(Ws, bs, X, Y, acts)
        assert np.isclose(C, C2, rtol=1e-12)
        assert all(np.allclose(a, b, rtol=1e-10, atol=1e-14) for a, b in zip(dW + db, dW2 + db2))
        _, Zs = nb06._forward_model(Ws, bs, X, acts)
        delta = nb06._delta_expr(acts[-1])(Zs[-1], Y)
        # db^L = mean over the examples of delta^L
        assert np.allclose(np.mean(delta, axis=1, keepdims=True), db2[-1], rtol=1e-10, atol=1e-14)


def test_hidden_relu_units_stay_away_from_the_kink():
    rng = np.random.default_rng(11)
    for case in get("ex06_backward").cases(rng):
        _, caches, acts = case.args[:3]
        for (_, Z), name in zip(caches, acts):
            if name == "relu":
                assert np.min(np.abs(Z)) > nb06.RELU_MARGIN


@pytest.mark.parametrize("answer, words", [
    ("def backward(weights, caches, activations, delta_L):\n    return None", "should return the pair"),
    ("def backward(weights, caches, activations, delta_L):\n    return [0] * len(weights), [0] * len(weights)",
     "has shape ()"),
    ("def backward(weights, caches, activations, delta_L):\n    raise NotImplementedError()", "not implemented"),
])
def test_malformed_answers_fail_with_one_line(answer, words):
    v = verdict("ex06_backward", None, answer)
    assert not v.passed and words in v.message and "\n" not in v.message


def test_the_routes_are_refused_while_the_answer_runs():
    for ex_id in IDS:
        with forbid(*get(ex_id).routes):
            pass                                   # every route name resolves to a protected function
    delegating = "def cost_and_delta(A_L, Z_L, Y, activation_name):\n" \
                 "    from backproplab import losses, matrix\n" \
                 "    return losses.squared_error(A_L, Y), matrix.output_delta(A_L, Z_L, Y, activation_name, " \
                 "'squared_error')"
    v = verdict("ex06_cost_delta", None, delegating)
    assert v.score == 0 and "switched off" in v.message
