"""The exercise framework: one definition, run in the kernel (Validate) and judged outside (grading)."""

from __future__ import annotations

import numpy as np
import pytest
from backproplab import wire
from backproplab.exercises import (
    Case,
    Exercise,
    check,
    decode_result,
    evaluate,
    get,
    judge_case,
    registry,
    run_case,
    score,
)
from backproplab.grading import GradingError, check_array


class Double(Exercise):
    """A toy exercise: return 2 * x, and (part "keep") leave x unchanged."""

    id = "ex99_double"
    names = ("double",)
    parts = {"value": 2, "keep": 1}
    routes = ("backproplab.gradcheck.numerical_gradient",)
    hints = {"half": "multiply by 2, not by 1/2"}

    def cases(self, rng):
        if rng is None:
            return [Case("value", (np.array([1.0, 2.0]),), "x = [1, 2]"), Case("keep", (np.array([3.0]),), "x = [3]")]
        return [Case("value", (rng.normal(size=(int(rng.integers(1, 4)), 2)),), "random x")]

    def run(self, args, double):
        (x,) = args
        from backproplab.exercises import call

        out = call(double, x)
        return {"out": out, "x_after": x}

    def judge(self, case, got):
        (x,) = case.args
        if case.part == "keep":
            check_array(got["x_after"], x, "x after the call")
            return
        check_array(got["out"], 2 * x, "double(x)", mistakes=[(x / 2, self.hint("half"))])


def test_registry_and_ids():
    assert "ex99_double" in registry() and get("ex99_double").points == 3
    assert {"ex01_chain", "ex01_sigmoid_prime", "ex01_layer_jacobian", "ex01_network_grad"} <= set(registry())
    with pytest.raises(ValueError, match="no exercise"):
        get("ex99_nothing")
    with pytest.raises(ValueError, match="exNN_name"):
        type("Bad", (Exercise,), {"id": "nope", "names": ("f",), "parts": {"a": 1}})


def test_check_is_quiet_on_success_and_one_line_on_failure(capsys):
    check("ex99_double", lambda x: 2 * x)
    check("ex99_double", lambda x: x + x, hidden=True)
    assert capsys.readouterr() == ("", "")
    with pytest.raises(GradingError, match=r"^double\(x\): multiply by 2, not by 1/2$"):
        check("ex99_double", lambda x: x / 2)
    with pytest.raises(GradingError, match="not implemented yet"):
        def double(x):
            raise NotImplementedError()
        check("ex99_double", double)
    with pytest.raises(TypeError, match="takes 1 object"):
        check("ex99_double")


def test_partial_credit_by_part():
    ex = get("ex99_double")

    def in_place(x):
        x *= 2
        return x

    v = evaluate(ex, [in_place], ex.all_cases(np.random.default_rng(0)))
    assert v.score == 2 and [p.earned for p in v.parts] == [2, 0]
    assert "x after the call" in v.parts[1].message


def test_a_route_is_refused_while_the_student_runs():
    from backproplab.gradcheck import numerical_gradient

    def delegate(x):
        return numerical_gradient(lambda v: float((v**2).sum()), x)

    r = run_case(get("ex99_double"), (np.array([1.0]),), [delegate])
    assert r["fail"][0] == "delegation"
    assert numerical_gradient(lambda v: float((v**2).sum()), np.array([1.0])).shape == (1,), "refused afterwards"


def test_results_from_a_kernel_are_only_data():
    ex = get("ex99_double")
    case = ex.all_cases(None)[0]
    ok = decode_result(wire.dumps({"ok": {"out": np.array([2.0, 4.0]), "x_after": np.array([1.0, 2.0])}}))
    assert judge_case(ex, 0, case, ok).ok
    for junk in ["nope", wire.dumps([1, 2]), wire.dumps({"ok": 1, "extra": 2}), wire.dumps({"fail": [1, 2]}),
                 wire.dumps({"fail": ["ok", "x" * 5000]})]:
        r = judge_case(ex, 0, case, decode_result(junk))
        assert not r.ok and len(r.message) <= 600
    assert not judge_case(ex, 0, case, None).ok, "a missing result must fail"
    assert judge_case(ex, 0, case, decode_result(wire.dumps({"fail": ["ok", "all good"]}))).kind != "ok"


def test_an_output_that_is_not_data_fails_with_a_clear_message():
    ex = get("ex99_double")
    r = evaluate(ex, [lambda x: object()], ex.all_cases(None))
    assert not r.passed and "got object" in r.message


def test_score_needs_every_case_of_a_part():
    ex = get("ex99_double")
    cases = ex.all_cases(np.random.default_rng(1))
    results = [judge_case(ex, i, c, None if i == len(cases) - 1 else
                          decode_result(wire.dumps({"ok": {"out": 2 * c.args[0], "x_after": c.args[0]}})))
               for i, c in enumerate(cases)]
    v = score(ex, results)
    assert {p.name: p.earned for p in v.parts} == {"value": 0, "keep": 1}
