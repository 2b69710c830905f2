"""The checks of notebook 04 (backproplab.exercises.nb04), without a kernel.

The solution (written here) passes every case for several seeds; every hint fires on the
mistake it names; partial credit follows the parts; behavioural checks are judged from what
``run`` records; edge inputs reach the student's code; malformed outputs never pass.
"""

from __future__ import annotations

import numpy as np
from backproplab import wire
from backproplab.activations import sigmoid
from backproplab.exercises import get, run_case

from . import exercise_harness as harness

AID = "04-one-neuron"
SEEDS = (0, 1, 7)


# -- the solution, written differently from the notebook's -------------------------------------
def linear_neuron_grad(W, b, X, Y):
    e = W @ X + b - Y
    return e @ X.T / X.shape[1], np.mean(e, axis=1, keepdims=True)


def logistic_neuron_grad(W, b, X, Y):
    A = sigmoid(W @ X + b)
    d = (A - Y) * A * (1 - A)
    return d @ X.T / X.shape[1], np.mean(d, axis=1, keepdims=True)


def descent_step(params, grads, lr):
    return [p - lr * g for p, g in zip(params, grads)]


def descent_path(params, grad_fn, lr, n_steps):
    path = [list(params)]
    for _ in range(n_steps):
        path.append(descent_step(path[-1], grad_fn(path[-1]), lr))
    return path


SOLUTION = {
    "ex04_linear_grad": (linear_neuron_grad,),
    "ex04_logistic_grad": (logistic_neuron_grad,),
    "ex04_descent_step": (descent_step, descent_path),
}


# -- common mistakes, each named by the hint it must draw ---------------------------------------
def _lin(delta_fn, mean_db=True):
    def grad(W, b, X, Y):
        d = delta_fn(W, b, X, Y)
        return d @ X.T / X.shape[1], (np.mean(d, axis=1, keepdims=True) if mean_db else d / X.shape[1])
    return grad


def _logistic_slope(slope):
    def delta(W, b, X, Y):
        Z = W @ X + b
        A = sigmoid(Z)
        return (A - Y) * slope(Z, A)
    return _lin(delta)


MISTAKES = {
    "ex04_linear_grad": {
        "bias_missing": (_lin(lambda W, b, X, Y: W @ X - Y),),
        "db_per_example": (_lin(lambda W, b, X, Y: W @ X + b - Y, mean_db=False),),
    },
    "ex04_logistic_grad": {
        "slope_missing": (_logistic_slope(lambda Z, A: 1.0),),
        "slope_of_z": (_logistic_slope(lambda Z, A: Z * (1 - Z)),),
        "sigmoid_prime_of_a": (_logistic_slope(lambda Z, A: sigmoid(A) * (1 - sigmoid(A))),),
        "slope_plus": (_logistic_slope(lambda Z, A: A * (1 + A)),),
        "db_per_example": (_lin(lambda W, b, X, Y: (sigmoid(W @ X + b) - Y) * sigmoid(W @ X + b)
                                * (1 - sigmoid(W @ X + b)), mean_db=False),),
    },
}


def _in_place_step(params, grads, lr):
    for p, g in zip(params, grads):
        p -= lr * g
    return params


def _in_place_path(params, grad_fn, lr, n_steps):
    path = [params]
    for _ in range(n_steps):
        params = _in_place_step(params, grad_fn(params), lr)
        path.append(params)
    return path


def _no_start(params, grad_fn, lr, n_steps):
    return descent_path(params, grad_fn, lr, n_steps)[1:]


def _frozen(params, grad_fn, lr, n_steps):
    g = grad_fn(params)
    path = [list(params)]
    for _ in range(n_steps):
        path.append(descent_step(path[-1], g, lr))
    return path


MISTAKES["ex04_descent_step"] = {
    "step_in_place": (_in_place_step, descent_path),
    "path_in_place": (descent_step, _in_place_path),
    "ascent": (lambda ps, gs, lr: [p + lr * g for p, g in zip(ps, gs)], descent_path),
    "divides_by_lr": (lambda ps, gs, lr: [p - g / lr for p, g in zip(ps, gs)], descent_path),
    "no_start": (descent_step, _no_start),
    "frozen_gradient": (descent_step, _frozen),
}


def _verdict(ex_id, objs, seed=0):
    return harness.verdict(ex_id, objs, seed)


# the common tests (tests/lib/exercise_harness.py): test_solution_passes_visible_and_hidden_cases,
#   test_check_is_quiet_on_the_solution, test_every_hint_fires_on_its_mistake,
#   test_parts_sum_to_the_test_cells_points, test_malformed_outputs_never_pass,
#   test_run_of_all_hidden_cases_is_fast
globals().update(harness.function_tests(AID, SOLUTION, MISTAKES, SEEDS))


def test_partial_credit_a_right_dW_with_a_wrong_db():
    v = _verdict("ex04_linear_grad", MISTAKES["ex04_linear_grad"]["db_per_example"])
    assert {p.name: p.earned for p in v.parts} == {"dW": 2.0, "db": 0.0}
    v = _verdict("ex04_descent_step", (descent_step, _frozen))
    assert {p.name: p.earned for p in v.parts} == {"step": 1.0, "path": 0.0}


def test_edge_inputs_reach_the_students_code():
    """Hidden cases pass non-contiguous views, exact zeros and large |z| into the call."""
    seen = []

    def spy(W, b, X, Y):
        seen.append((W.flags.c_contiguous and X.flags.c_contiguous, bool(np.any(X == 0)),
                     float(np.max(np.abs(W @ X + b)))))
        return logistic_neuron_grad(W, b, X, Y)

    ex = get("ex04_logistic_grad")
    for case in ex.cases(np.random.default_rng(3)):
        run_case(ex, wire.loads(wire.dumps(case.args)), [spy])
    assert any(not contiguous for contiguous, _, _ in seen)
    assert any(zero for _, zero, _ in seen)
    assert max(z for _, _, z in seen) > 700


def test_large_z_reference_is_exact_and_finite():
    ex = get("ex04_logistic_grad")
    case = next(c for c in ex.cases(np.random.default_rng(0)) if "-1250" in c.label)
    dW, db = case.ref
    assert np.all(np.isfinite(dW)) and np.all(np.isfinite(db))
    W, b, X, Y, _ = case.args
    A = sigmoid(W @ X + b)
    d = (A - Y) * A * (1 - A)
    np.testing.assert_allclose(dW, d @ X.T / X.shape[1], rtol=1e-12, atol=1e-300)


def test_unstable_slope_formula_fails_only_on_large_z():
    def unstable(W, b, X, Y):
        Z = W @ X + b
        A = 1 / (1 + np.exp(-Z))
        d = (A - Y) * np.exp(-Z) / (1 + np.exp(-Z)) ** 2
        return d @ X.T / X.shape[1], np.mean(d, axis=1, keepdims=True)

    v = _verdict("ex04_logistic_grad", (unstable,))
    bad = [c for c in v.cases if not c.ok]
    assert bad and all("non-finite" in c.message and "-1250" in c.message for c in bad)


def test_wrong_types_get_a_usable_message():
    v = _verdict("ex04_linear_grad", (lambda W, b, X, Y: None,))
    assert "should return the pair (dW, db), got NoneType" in v.message
    v = _verdict("ex04_descent_step", (lambda ps, gs, lr: tuple(descent_step(ps, gs, lr)), descent_path))
    assert "descent_step should return a new list" in v.message


