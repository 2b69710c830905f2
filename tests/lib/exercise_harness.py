"""What the per-notebook exercise tests (tests/lib/test_exercises_nb*.py) share.

Each of those files writes out a solution (functions, or the source of the notebook's answer
cells), a set of mistakes and its notebook-specific checks; the runs and the common checks are
here: the solution passes the visible and hidden cases for several seeds, each hint fires on its
mistake, each wrong variant loses points, and the exercises' parts sum to the points of their
notebook's test cells. No kernel: everything runs in this process, through the wire, with
:func:`backproplab.exercises.evaluate`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pytest
from backproplab import wire
from backproplab.exercises import Verdict, check, evaluate, get, run_case
from backproplab.grading import GradingError

from autograder.course import graded_cells, nbgrader_meta, notebook_path
from tests.notebooks.harness import load_variants, read_nb

Answers = Sequence | Mapping


# -- running an exercise ----------------------------------------------------------------------
def verdict(ex_id: str, answers: Answers, seed: int | None = 0) -> Verdict:
    """Exercise ``ex_id`` judged on ``answers``: its functions in order, or a namespace (a dict)
    to look its names up in; on the visible cases, and on the hidden cases drawn from ``seed``
    unless it is None."""
    ex = get(ex_id)
    objs = [answers[n] for n in ex.names] if isinstance(answers, Mapping) else answers
    rng = None if seed is None else np.random.default_rng(seed)
    return evaluate(ex, objs, ex.all_cases(rng))


def failures(v: Verdict) -> str:
    """The messages of the failed cases, one line."""
    return " | ".join(c.message for c in v.cases if not c.ok)


def judged(ex_id: str, answers: Answers, seed: int | None = 0) -> tuple[Verdict, str]:
    """The verdict and its failures' messages."""
    v = verdict(ex_id, answers, seed)
    return v, failures(v)


def failing(ex_id: str, answers: Answers, seed: int | None = 0) -> tuple[Verdict, str]:
    """:func:`judged`, for answers that must not pass."""
    v, messages = judged(ex_id, answers, seed)
    assert not v.passed
    return v, messages


def run_cells(ns: dict, *cells: str | None) -> dict:
    """Execute the cells' sources in ``ns``, in order (None: no cell); returns ``ns``."""
    for code in cells:
        if code is not None:
            exec(code, ns)  # noqa: S102 - the tests' own code, or a variant from the repository
    return ns


def points_of_test_cells(aid: str) -> dict[str, float]:
    """Each exercise's points, as the solution notebook's test cell (``<ex_id>_tests``) gives them."""
    cells = graded_cells(read_nb(notebook_path(aid)))
    return {gid.removesuffix("_tests"): float(nbgrader_meta(cell)["points"]) for gid, cell in cells.items()}



# -- the common checks ------------------------------------------------------------------------
def assert_passes(run: Callable[[int | None], Verdict], ex_id: str, seeds: Iterable[int | None]) -> None:
    """``run(seed)`` passes for every seed."""
    for seed in seeds:
        v = run(seed)
        assert v.passed, f"{ex_id} (seed {seed}): {v.message}"


def assert_hint_fires(v: Verdict, ex_id: str, key: str) -> None:
    """``v`` fails, and the failures name the mistake with hint ``key``."""
    assert not v.passed
    messages = failures(v)
    assert get(ex_id).hint(key) in messages, messages[:600]


def assert_hints_fire(ex_id: str, mistakes: Mapping[str, Answers]) -> None:
    """One mistake for every hint of ``ex_id`` (``{hint key: answers}``): each fails, draws its
    hint, and says so in a plain message (no withheld case, no traceback)."""
    ex = get(ex_id)
    assert set(mistakes) == set(ex.hints), "a test for every hint, and a hint for every test"
    for key, objs in mistakes.items():
        v = verdict(ex_id, objs)
        assert not v.passed, key
        messages = [c.message for c in v.cases if not c.ok]
        assert any(ex.hint(key) in m for m in messages), f"{key}: {messages[:2]}"
        for m in messages:
            assert "withheld" not in m and "Traceback" not in m and m.strip(), m


def assert_every_hint_has_a_mistake(keys: Mapping[str, Iterable[str]]) -> None:
    """``{ex_id: the hint keys of its mistakes}`` covers every hint of every exercise, no more."""
    for ex_id, ks in keys.items():
        assert set(ks) == set(get(ex_id).hints), ex_id


def assert_variants_lose_points_and_fire_hints(aid: str, ex_id: str, run: Callable[[str], Verdict]) -> None:
    """Each wrong variant of tests/notebooks/variants/<aid>.py (:func:`load_variants`), run by ``run(code)``, loses
    points; each hint fires on the variant FIRES names; the correct variant passes."""
    wrong, correct, fires = load_variants(aid, with_fires=True)
    ex = get(ex_id)
    assert set(fires[ex_id]) == set(ex.hints)
    messages = {}
    for name, code in wrong[ex_id].items():
        v = run(code)
        assert v.score < v.max_score, f"{name} keeps full marks"
        messages[name] = failures(v)
    for key, name in fires[ex_id].items():
        assert ex.hint(key) in messages[name], f"hint {key!r} does not fire on {name}: {messages[name][:300]}"
    assert run(correct[ex_id]).passed


def assert_parts_sum_to_points(aid: str, ids: Iterable[str], *, all_cells: bool = False) -> None:
    """Each exercise's parts sum to its test cell's points (with ``all_cells``: and the notebook
    has a test cell for these exercises only)."""
    points = points_of_test_cells(aid)
    ids = list(ids)
    if all_cells:
        assert set(points) == set(ids)
    for ex_id in ids:
        assert points[ex_id] == get(ex_id).points, ex_id


def assert_check_is_quiet(capsys, ex_id: str, objs: Sequence) -> None:
    """The test cell's ``check`` prints nothing on the solution, visible and hidden."""
    check(ex_id, *objs)
    check(ex_id, *objs, hidden=True)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def assert_malformed_outputs_never_pass(ex_id: str) -> None:
    """A record of outputs the judge cannot read is a failure, never a pass."""
    ex = get(ex_id)
    case = ex.all_cases(None)[0]
    for out in (wire.Opaque("Foo"), None, {"got": wire.Opaque("Foo"), "after": []}, {"after": []}):
        with pytest.raises(GradingError):
            ex.judge(case, out)


def assert_hidden_cases_run_fast(ex_id: str, objs: Sequence, seconds: float = 2.0, seed: int = 5) -> None:
    """Running the solution on every hidden case takes less than ``seconds``."""
    ex = get(ex_id)
    cases = ex.cases(np.random.default_rng(seed))
    t0 = time.perf_counter()
    for c in cases:
        assert "ok" in run_case(ex, wire.loads(wire.dumps(c.args)), objs)
    assert time.perf_counter() - t0 < seconds


def assert_takes_less_than(seconds: float, fn: Callable[[], object]) -> None:
    start = time.perf_counter()
    fn()
    assert time.perf_counter() - start < seconds


def assert_cases_from_any_seed(ex_id: str, n_seeds: int) -> None:
    """Hidden cases can be drawn from each of the seeds 0 .. n_seeds - 1."""
    ex = get(ex_id)
    for seed in range(n_seeds):
        assert ex.cases(np.random.default_rng(seed))


# -- the common tests, for a notebook's test module to take in ---------------------------------
# A module binds them under their own names, which pytest collects as the module's tests:
#     globals().update(harness.source_tests(AID, IDS, verdict, MISTAKES))
def _named(*tests: Callable) -> dict[str, Callable]:
    return {t.__name__: t for t in tests}


def source_tests(aid: str, ids: Sequence[str], verdict: Callable, mistakes: Sequence[tuple[str, str, str]]):
    """The tests of a notebook whose solution is written out as its answer cells' sources:
    ``verdict(ex_id, seed, replace)`` judges the solution with ``replace`` ({ex_id: source}) in
    place of (or on top of) those answers; ``mistakes`` lists (ex_id, hint key, source), one per
    hint."""

    @pytest.mark.parametrize("ex_id", ids)
    def test_the_solution_passes_visible_and_hidden_cases(ex_id):
        assert_passes(lambda seed: verdict(ex_id, seed), ex_id, (None, 0, 1, 2, 3))

    @pytest.mark.parametrize("ex_id", ids)
    def test_hidden_cases_run_well_under_five_seconds(ex_id):
        assert_takes_less_than(5.0, lambda: verdict(ex_id, 4))

    @pytest.mark.parametrize(("ex_id", "key", "code"), mistakes, ids=[f"{m[0]}-{m[1]}" for m in mistakes])
    def test_each_hint_fires_on_its_mistake(ex_id, key, code):
        assert_hint_fires(verdict(ex_id, 0, {ex_id: code}), ex_id, key)

    def test_every_hint_has_a_mistake():
        assert_every_hint_has_a_mistake({ex_id: [k for e, k, _ in mistakes if e == ex_id] for ex_id in ids})

    def test_parts_sum_to_the_test_cells_points():
        assert_parts_sum_to_points(aid, ids)

    return _named(test_the_solution_passes_visible_and_hidden_cases, test_hidden_cases_run_well_under_five_seconds,
                  test_each_hint_fires_on_its_mistake, test_every_hint_has_a_mistake,
                  test_parts_sum_to_the_test_cells_points)


def variant_tests(aid: str, ids: Sequence[str], verdict: Callable):
    """The tests of a notebook whose mistakes are the sensitivity variants of
    tests/notebooks/variants/<aid>.py: ``verdict(ex_id, seed, replace)`` judges the solution
    with the source ``replace`` run on top of it."""

    @pytest.mark.parametrize("ex_id", ids)
    @pytest.mark.parametrize("seed", [0, 1, 2, 3])
    def test_the_solution_passes_visible_and_hidden_cases(ex_id, seed):
        v = verdict(ex_id, seed)
        assert v.passed, v.message

    @pytest.mark.parametrize("ex_id", ids)
    def test_every_hint_fires_on_its_mistake_and_each_wrong_variant_loses_points(ex_id):
        assert_variants_lose_points_and_fire_hints(aid, ex_id, lambda code: verdict(ex_id, 5, code))

    def test_parts_add_up_to_the_test_cells_points():
        assert_parts_sum_to_points(aid, ids)

    return _named(test_the_solution_passes_visible_and_hidden_cases,
                  test_every_hint_fires_on_its_mistake_and_each_wrong_variant_loses_points,
                  test_parts_add_up_to_the_test_cells_points)


def function_tests(aid: str, solution: Mapping[str, Sequence], mistakes: Mapping[str, Mapping[str, Sequence]],
                   seeds: Sequence[int]):
    """The tests of a notebook whose solution is written out as functions: ``solution``
    {ex_id: its functions in order}, ``mistakes`` {ex_id: {hint key: functions}}."""

    @pytest.mark.parametrize("ex_id", sorted(solution))
    @pytest.mark.parametrize("seed", seeds)
    def test_solution_passes_visible_and_hidden_cases(ex_id, seed):
        v = verdict(ex_id, solution[ex_id], seed)
        assert v.passed, v.message

    @pytest.mark.parametrize("ex_id", sorted(solution))
    def test_check_is_quiet_on_the_solution(ex_id, capsys):
        assert_check_is_quiet(capsys, ex_id, solution[ex_id])

    @pytest.mark.parametrize("ex_id", sorted(mistakes))
    def test_every_hint_fires_on_its_mistake(ex_id):
        assert_hints_fire(ex_id, mistakes[ex_id])

    @pytest.mark.parametrize("ex_id", sorted(solution))
    def test_parts_sum_to_the_test_cells_points(ex_id):
        assert_parts_sum_to_points(aid, [ex_id])

    @pytest.mark.parametrize("ex_id", sorted(solution))
    def test_malformed_outputs_never_pass(ex_id):
        assert_malformed_outputs_never_pass(ex_id)

    @pytest.mark.parametrize("ex_id", sorted(solution))
    def test_run_of_all_hidden_cases_is_fast(ex_id):
        assert_hidden_cases_run_fast(ex_id, solution[ex_id])

    return _named(test_solution_passes_visible_and_hidden_cases, test_check_is_quiet_on_the_solution,
                  test_every_hint_fires_on_its_mistake, test_parts_sum_to_the_test_cells_points,
                  test_malformed_outputs_never_pass, test_run_of_all_hidden_cases_is_fast)
