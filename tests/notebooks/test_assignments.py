"""Every assignment, through the real nbgrader API and real kernels.

For each notebook in solutions/: the solution scores full marks; the unchanged
release runs to the end and scores zero with every test cell failing; Validate's
verdict agrees with autograde; wrong variants lose points and a differently
written correct one keeps full marks. Each assignment is graded once per worker
(xdist group), all its submissions as students of one autograde run.
"""

from __future__ import annotations

import pytest

from autograder.course import graded_assignments, graded_cells
from tests.notebooks.harness import AssignmentRun, load_variants, run_assignment

AIDS = graded_assignments()  # 00-index has no exercises
_RUNS: dict[str, AssignmentRun] = {}


def per_assignment(fn):
    return pytest.mark.parametrize(
        "aid", [pytest.param(a, marks=pytest.mark.xdist_group(a), id=a) for a in AIDS])(fn)


@pytest.fixture
def run(aid, tmp_path_factory) -> AssignmentRun:
    if aid not in _RUNS:
        _RUNS[aid] = run_assignment(aid, tmp_path_factory.mktemp(f"grade-{aid}"))
    return _RUNS[aid]


@per_assignment
def test_solution_scores_full_marks(run):
    sol = run.results["solution"]
    assert sol.max_score > 0
    assert sol.score == sol.max_score, f"solution lost points on {sorted(sol.failed_exercises())}"


@per_assignment
def test_release_runs_to_the_end_and_every_test_fails(run):
    rel = run.results["release"]
    assert rel.score == 0
    assert rel.grades and all(s == 0 for s, _ in rel.grades.values()), rel.grades
    from autograder.nbtools import read_nb

    nb = read_nb(rel.autograded)
    tests = {id(c) for c in graded_cells(nb).values()}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.get("execution_count") is not None, f"cell not executed: {cell.source[:80]!r}"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if id(cell) not in tests:
            assert not errors, f"a non-test cell fails in the release: {cell.source[:120]!r}: {errors[0].ename}"


@per_assignment
def test_every_exercise_has_sensitivity_variants(run):
    assert run.exercises, "no exercises found (answer cell exNN_x with test cell exNN_x_tests)"
    for ex in run.exercises:
        assert len(run.wrong.get(ex, {})) >= 3, f"{ex}: needs at least three wrong variants"
        assert ex in run.correct, f"{ex}: needs one differently written correct variant"


@per_assignment
def test_wrong_variants_lose_points_on_their_exercise(run):
    for ex, variants in run.wrong.items():
        for name in variants:
            g = run.results[AssignmentRun.student_for(ex, name, "wrong")]
            assert f"{ex}_tests" in g.failed_exercises(), f"{ex}/{name} kept full marks: the tests miss it"
            assert g.score < g.max_score


@per_assignment
def test_correct_variants_keep_full_marks(run):
    for ex in run.correct:
        g = run.results[AssignmentRun.student_for(ex, "alt", "correct")]
        assert g.score == g.max_score, f"{ex}: a correct rewrite lost points on {sorted(g.failed_exercises())}"


@per_assignment
def test_validate_agrees_with_autograde(run):
    sol, rel = run.results["solution"], run.results["release"]
    submitted = run.root.root / "submitted"
    v_sol = run.root.validate(submitted / "solution" / run.aid / f"{run.aid}.ipynb")
    v_rel = run.root.validate(submitted / "release" / run.aid / f"{run.aid}.ipynb")
    assert not v_sol, f"Validate rejects the solution: {v_sol}"
    assert sol.score == sol.max_score
    assert "failed" in v_rel and len(v_rel["failed"]) == len(rel.grades)
    assert rel.score == 0


def test_variant_files_name_real_exercises():
    for aid in AIDS:
        wrong, correct = load_variants(aid)
        from autograder.course import answer_cells, notebook_path
        from autograder.nbtools import read_nb

        answers = set(answer_cells(read_nb(notebook_path(aid))))
        assert set(wrong) <= answers and set(correct) <= answers, aid
