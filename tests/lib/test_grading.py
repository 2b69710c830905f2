"""Grading helpers: diagnoses of common mistakes, the no-delegation guard, and quiet running."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from backproplab import activations, matrix
from backproplab.grading import (
    DelegationError,
    GradingError,
    check_array,
    check_arrays,
    check_expr,
    check_scalar,
    forbid,
    quietly,
)
from backproplab.matrix import linear_forward as linear_forward_alias  # imported before any guard

RNG = np.random.default_rng(0)
EXPECTED = RNG.normal(size=(3, 5))


def _kind(fn, *args, **kw) -> str:
    with pytest.raises(GradingError) as info:
        fn(*args, **kw)
    return info.value.kind


def test_correct_answer_passes_silently(capfd):
    check_array(EXPECTED.copy(), EXPECTED, "dW")
    check_arrays([EXPECTED, EXPECTED[:2]], [EXPECTED, EXPECTED[:2]], "dW")
    check_scalar(np.float64(1.5), 1.5, "loss")
    assert capfd.readouterr() == ("", "")


def test_diagnoses_transposed_negated_scaled_and_batch_size():
    assert _kind(check_array, EXPECTED.T.copy(), EXPECTED, "dW") == "transposed"
    assert _kind(check_array, -EXPECTED, EXPECTED, "dW") == "sign"
    assert _kind(check_array, 3.0 * EXPECTED, EXPECTED, "dW") == "scaled"
    assert _kind(check_array, 5.0 * EXPECTED, EXPECTED, "dW", batch_size=5) == "batch_size"
    assert _kind(check_array, EXPECTED / 5.0, EXPECTED, "dW", batch_size=5) == "batch_size"
    wrong = EXPECTED.copy()
    wrong[1, 2] += 1.0
    with pytest.raises(GradingError, match=r"dW differs at \(1, 2\)"):
        check_array(wrong, EXPECTED, "dW")


def test_type_shape_and_finite_checks_come_first():
    assert _kind(check_array, EXPECTED.tolist(), EXPECTED, "dW") == "type"
    assert _kind(check_array, None, EXPECTED, "dW") == "type"
    assert _kind(check_array, EXPECTED[:2], EXPECTED, "dW") == "shape"
    nan = EXPECTED.copy()
    nan[0, 0] = np.nan
    assert _kind(check_array, nan, EXPECTED, "dW") == "nonfinite"
    assert _kind(check_arrays, [EXPECTED[:2], EXPECTED], [EXPECTED, EXPECTED[:2]], "dW") == "layer"


def test_check_expr():
    x = sp.Symbol("x")
    check_expr(sp.sin(x) ** 2 + sp.cos(x) ** 2, sp.Integer(1), [x])
    assert _kind(check_expr, -sp.exp(x), sp.exp(x), [x]) == "sign"


def test_forbid_raises_even_through_an_alias_imported_before():
    A, W, b = RNG.normal(size=(2, 3)), RNG.normal(size=(4, 2)), np.zeros((4, 1))
    with forbid(matrix.linear_forward):
        with pytest.raises(DelegationError, match="switched off"):
            linear_forward_alias(A, W, b)
        with pytest.raises(DelegationError):
            matrix.linear_forward(A, W, b)
    Z, _ = linear_forward_alias(A, W, b)  # works again after the guard
    np.testing.assert_allclose(Z, W @ A)
    with forbid("backproplab.activations.sigmoid"), pytest.raises(DelegationError):
        activations.sigmoid(0.0)
    assert activations.sigmoid(0.0) == 0.5


def test_quietly_prints_nothing_to_stderr(capfd):
    def noisy():
        return np.log(np.zeros(2)) + np.ones(2) / 0.0

    out = quietly(noisy)
    assert not np.any(np.isfinite(out))
    assert capfd.readouterr().err == ""


def test_quietly_turns_delegation_and_missing_work_into_one_line_failures():
    def delegating(A, W, b):
        return matrix.linear_forward(A, W, b)

    def stub():
        raise NotImplementedError

    with forbid(matrix.linear_forward):
        assert _kind(quietly, delegating, np.ones((2, 1)), np.ones((1, 2)), np.zeros((1, 1))) == "delegation"
    assert _kind(quietly, stub) == "missing"


def test_forbid_rejects_names_that_protect_nothing():
    with pytest.raises(ValueError, match="names no protected"), forbid("backproplab.matrix.bakward"):
        pass
    with pytest.raises(ValueError, match="not a protected"), forbid(np.dot):
        pass


def test_forbid_a_module_prefix_and_the_symbolic_oracle_always():
    from backproplab import layerwise, symbolic

    W, b = [np.ones((2, 2))], [np.zeros((2, 1))]
    X, Y = np.ones((2, 3)), np.zeros((2, 3))
    with forbid("backproplab.layerwise"):
        with pytest.raises(DelegationError):
            layerwise.backprop(W, b, X, Y, ["identity"])
        with pytest.raises(DelegationError):
            symbolic.backprop(W, b, X, Y, ["identity"])
        matrix.backprop(W, b, X, Y, ["identity"])  # not forbidden here
    symbolic.backprop(W, b, X, Y, ["identity"])  # and back on afterwards


def test_quietly_reports_an_exception_in_one_line_with_the_students_line():
    def student_grad(A, X):
        return A @ X  # shapes do not fit

    with pytest.raises(GradingError) as info:
        quietly(student_grad, np.ones((2, 3)), np.ones((2, 3)))
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("student_grad raised ValueError") and "return A @ X" in msg
    assert info.value.kind == "shape"
