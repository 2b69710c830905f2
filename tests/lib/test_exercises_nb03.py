"""Checks of notebook 03 (backproplab.exercises.nb03), without a kernel.

The solution's functions and the notebook's locked network cell are written out below; they must
pass every exercise (visible and hidden cases, several seeds), each hint must fire on the mistake
it names, and each exercise's parts must sum to its test cell's points.
"""

from __future__ import annotations

import numpy as np
import pytest
from backproplab.exercises import get

from . import exercise_harness as harness

AID = "03-gradient-checking"
IDS = ("ex03_numerical_gradient", "ex03_relative_error", "ex03_find_bug", "ex03_fix_backward")

SETUP = '''
import numpy as np
from backproplab.gradcheck import noise_floor

def loss(params, X, Y):
    A1 = np.tanh(params["W1"] @ X + params["b1"])
    Z2 = params["W2"] @ A1 + params["b2"]
    return float(0.5 * np.sum((Z2 - Y) ** 2) / X.shape[1])

def backward_buggy(params, X, Y):
    _, m = X.shape
    Z1 = params["W1"] @ X + params["b1"]
    A1 = np.tanh(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    delta2 = Z2 - Y
    delta1 = (params["W2"].T @ delta2) * (1 - A1 ** 2)
    return {"W1": delta1 @ X.T / m, "b1": delta1.sum(axis=1, keepdims=True) / m,
            "W2": delta2 @ Z1.T / m, "b2": delta2.sum(axis=1, keepdims=True) / m}
'''

SOLUTION = {
    "ex03_numerical_gradient": '''
def numerical_gradient(f, x, h=1e-5):
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        g[i] = (f_plus - f_minus) / (2 * h)
    return g
''',
    "ex03_relative_error": '''
def relative_error(a, b, floor=1e-12):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))
''',
    "ex03_find_bug": '''
def find_bug(loss_fn, grad_fn, params, tol=1e-6):
    analytic = grad_fn(params)
    floor = noise_floor(loss_fn(params)) / tol
    worst, where = 0.0, None
    for name, p in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(params), p)
        a = np.asarray(analytic[name], dtype=np.float64)
        r = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), floor)
        i = np.unravel_index(np.argmax(r), r.shape)
        if r[i] > worst:
            worst, where = float(r[i]), (name, tuple(int(k) for k in i))
    return where if worst > tol else None
''',
    "ex03_fix_backward": '''
def backward(params, X, Y):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    n_examples = X.shape[1]
    A1 = np.tanh(W1 @ X + b1)
    dZ2 = (W2 @ A1 + b2 - Y) / n_examples
    dZ1 = (W2.T @ dZ2) * (1 - A1 ** 2)
    return {"W1": dZ1 @ X.T, "b1": np.sum(dZ1, axis=1, keepdims=True),
            "W2": dZ2 @ A1.T, "b2": np.sum(dZ2, axis=1, keepdims=True)}
''',
}

_NG = SOLUTION["ex03_numerical_gradient"]
_RE = SOLUTION["ex03_relative_error"]
_FB = SOLUTION["ex03_find_bug"]
_FX = SOLUTION["ex03_fix_backward"]

# one mistake per hint: (exercise, hint key, replacement code)
MISTAKES = [
    ("ex03_numerical_gradient", "forward", _NG.replace("x[i] = old - h\n        f_minus = float(f(x))",
                                                       "x[i] = old\n        f_minus = float(f(x))")
     .replace("(2 * h)", "h")),
    ("ex03_numerical_gradient", "twice", _NG.replace("(2 * h)", "h")),
    ("ex03_numerical_gradient", "copy", _NG.replace("g = np.zeros(x.shape)", "g = np.zeros(x.shape)\n    x = x.copy()")),
    ("ex03_numerical_gradient", "restore", _NG.replace("        x[i] = old\n", "")),
    ("ex03_relative_error", "no_abs", _RE.replace("np.abs(a - b) /", "(a - b) /")),
    ("ex03_relative_error", "divide_b", _RE.replace("np.abs(a) + np.abs(b)", "np.abs(b)")),
    ("ex03_relative_error", "divide_a", _RE.replace("np.abs(a) + np.abs(b)", "np.abs(a)")),
    ("ex03_relative_error", "absolute", _RE.replace(" / np.maximum(np.abs(a) + np.abs(b), floor)", "")),
    ("ex03_relative_error", "norms", _RE.replace(
        "float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))",
        "float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), floor))")),
    ("ex03_relative_error", "floor", _RE.replace(", floor)))", ", 1e-12)))")),
    ("ex03_find_bug", "missed", _FB.replace("for name, p in params.items():",
                                            "for name, p in params.items():\n        if name == 'b2':\n"
                                            "            continue")),
    ("ex03_find_bug", "worst", _FB.replace("if r[i] > worst:", "if r[i] > tol and where is None:")
     .replace("return where if worst > tol else None", "return where")),
    ("ex03_find_bug", "flat", _FB.replace("tuple(int(k) for k in i)", "int(np.ravel_multi_index(i, r.shape))")),
    ("ex03_find_bug", "never_none", _FB.replace("return where if worst > tol else None", "return where")
     .replace("worst, where = 0.0, None", "worst, where = -1.0, None")),
    ("ex03_find_bug", "floor", _FB.replace("floor = noise_floor(loss_fn(params)) / tol", "floor = 1e-12")),
    ("ex03_find_bug", "relative", _FB.replace("r = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), floor)",
                                              "r = np.abs(a - numeric)")
     .replace("return where if worst > tol else None", "return where if worst > 1e-5 else None")),
    ("ex03_find_bug", "params", _FB.replace("a = np.asarray(", "p += 1e-3\n        a = np.asarray(")),
    ("ex03_fix_backward", "still_buggy", "def backward(params, X, Y):\n    return backward_buggy(params, X, Y)"),
    ("ex03_fix_backward", "tanh_of_z", _FX.replace("A1 = np.tanh(W1 @ X + b1)", "Z1 = W1 @ X + b1\n    A1 = np.tanh(Z1)")
     .replace("(1 - A1 ** 2)", "(1 - Z1 ** 2)")),
    ("ex03_fix_backward", "column", _FX.replace("axis=1, keepdims=True", "axis=1")),
]


def namespace(replace: dict[str, str] | None = None) -> dict:
    """The notebook's locked cells, then each solution function or the mistake in its place."""
    replace = replace or {}
    return harness.run_cells({"__name__": "__notebook__"}, SETUP,
                             *(replace.get(ex_id, code) for ex_id, code in SOLUTION.items()))


def verdict(ex_id: str, seed: int | None, replace: dict[str, str] | None = None):
    return harness.verdict(ex_id, namespace(replace), seed)


# the common tests (tests/lib/exercise_harness.py): test_the_solution_passes_visible_and_hidden_cases,
#   test_hidden_cases_run_well_under_five_seconds, test_each_hint_fires_on_its_mistake,
#   test_every_hint_has_a_mistake, test_parts_sum_to_the_test_cells_points
globals().update(harness.source_tests(AID, IDS, verdict, MISTAKES))


def test_find_bug_cases_are_clear_cut_and_include_tiny_entries():
    ex = get("ex03_find_bug")
    for seed in (0, 1, 2):
        cases = ex.cases(np.random.default_rng(seed))
        assert all(ex._clear(c) for c in cases)
        assert any(c.ref == "tiny" and c.part == "no_false_alarm" for c in cases)
    assert any(c.ref == "tiny" for c in ex.cases(None))


def test_partial_credit():
    mistake = {key: code for e, key, code in MISTAKES}
    v = verdict("ex03_find_bug", 0, {"ex03_find_bug": mistake["floor"]})
    assert {p.name: p.earned for p in v.parts} == {"locate": 2, "no_false_alarm": 0}
    v = verdict("ex03_fix_backward", 0, {"ex03_fix_backward": mistake["tanh_of_z"]})
    assert {p.name: p.earned for p in v.parts} == {"output_layer": 1, "hidden_layer": 0}


def test_a_correct_checker_that_copies_a_transposed_array_is_caught():
    reshaped = '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.empty(x.shape)
    flat = x.reshape(-1)
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + h
        up = f(x)
        flat[k] = saved - h
        down = f(x)
        flat[k] = saved
        grad.reshape(-1)[k] = (up - down) / (2.0 * h)
    return grad
'''
    v = verdict("ex03_numerical_gradient", 0, {"ex03_numerical_gradient": reshaped})
    assert not v.passed and "transposed" in v.message


@pytest.mark.parametrize("ex_id", IDS)
def test_hidden_cases_can_be_drawn_from_any_seed(ex_id):
    harness.assert_cases_from_any_seed(ex_id, 15)
