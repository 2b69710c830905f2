"""The checks of notebook 07 (losses and output layers), without a kernel.

A correct solution (written here) passes the hidden cases for several seeds; every hint fires on
the mistake it names; the high-precision references agree with the library's stable float64
routes where those are exact; a correct answer that warns loses the points of its case; parts add
up to the test cells' points.
"""

from __future__ import annotations

import numpy as np
from backproplab import losses
from backproplab.activations import softmax as library_softmax
from backproplab.exercises import nb07

from . import exercise_harness as harness

AID = "07-losses-and-outputs"
IDS = ("ex07_softmax", "ex07_cross_entropy", "ex07_output_delta")

SOLUTION = '''
def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def cross_entropy(Z, Y):
    top = np.max(Z, axis=0, keepdims=True)
    log_p = Z - top - np.log(np.sum(np.exp(Z - top), axis=0, keepdims=True))
    return float(-np.sum(Y * log_p) / Z.shape[1])


def output_delta(Z, Y):
    return softmax(Z) - Y
'''


def verdict(ex_id: str, seed: int | None, replace: str | None = None):
    """Judged on the notebook's names: numpy, the solution, then ``replace`` on top."""
    return harness.verdict(ex_id, harness.run_cells({"np": np}, SOLUTION, replace), seed)


# the common tests (tests/lib/exercise_harness.py): test_the_solution_passes_visible_and_hidden_cases,
#   test_every_hint_fires_on_its_mistake_and_each_wrong_variant_loses_points,
#   test_parts_add_up_to_the_test_cells_points
globals().update(harness.variant_tests(AID, IDS, verdict))


def test_a_naive_softmax_keeps_the_points_of_ordinary_logits_only():
    wrong, _ = harness.load_variants(AID)
    v = verdict("ex07_softmax", 2, wrong["ex07_softmax"]["naive_overflows"])
    assert {p.name: p.earned for p in v.parts} == {"values": 2.0, "stable": 0.0}


def test_a_right_answer_that_warns_on_the_way_loses_the_stable_point():
    warns = '''
def cross_entropy(Z, Y):
    with np.errstate(over="ignore"):
        big = np.exp(Z)                       # overflows, silently, and is then not used
    top = np.max(Z, axis=0, keepdims=True)
    log_p = Z - top - np.log(np.sum(np.exp(Z - top), axis=0, keepdims=True))
    np.log(np.zeros(1))                       # divide by zero: a warning
    return float(-np.sum(Y * log_p) / Z.shape[1])
'''
    v = verdict("ex07_cross_entropy", None, warns)
    assert not v.passed and "numpy warned" in v.message and "\n" not in v.message


def test_high_precision_references_agree_with_the_stable_library_routes():
    rng = np.random.default_rng(3)
    for scale in (1.0, 30.0, 400.0):
        Z = rng.normal(0, scale, (4, 5))
        Y = np.eye(4)[:, rng.integers(0, 4, 5)]
        assert np.allclose(nb07._softmax_ref(Z), library_softmax(Z), rtol=1e-12, atol=1e-300)
        assert np.isclose(nb07._cross_entropy_ref(Z, Y), losses.softmax_cross_entropy(Z, Y), rtol=1e-12)
        assert np.allclose(nb07._delta_ref(Z, Y), losses.softmax_cross_entropy_grad(Z, Y), rtol=1e-9, atol=1e-12)


def test_references_are_finite_where_float64_exp_overflows():
    Z = np.array([[1000.0, -1000.0], [999.0, -1001.0]])
    Y = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert np.allclose(nb07._softmax_ref(Z), [[1 / (1 + np.exp(-1)), 1 / (1 + np.exp(-1))],
                                               [1 / (1 + np.e), 1 / (1 + np.e)]])
    assert np.isclose(nb07._cross_entropy_ref(Z, Y), (np.log1p(np.e) + np.log1p(1 / np.e)) / 2)


def test_the_routes_are_refused_while_the_answer_runs():
    delegating = "def softmax(Z):\n    from backproplab import activations\n    return activations.softmax(Z)"
    v = verdict("ex07_softmax", None, delegating)
    assert v.score == 0 and "switched off" in v.message
