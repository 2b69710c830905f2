"""Every assignment, through the real grading pipeline, real sandboxed kernels and nbgrader.

For each notebook in solutions/: the solution scores full marks; the unchanged release scores
zero with every test cell failing; every wrong variant loses points on its exercise (and
only there), every correct rewrite keeps them all, every hint fires on its mistake; Validate
(run in the kernel, as the button does) agrees with the trusted grading on the visible cases,
message for message; and the whole notebook, solution and release, runs top to bottom in a
real kernel with errors only where JupyterLab's *Run All* goes on past them. Each assignment
is graded once per worker (xdist group), all its submissions as students of one pipeline run.
"""

from __future__ import annotations

import pytest
from backproplab.exercises import failed_uses_note
from backproplab.exercises import get as get_exercise

from autograder.course import COURSE, SOLUTIONS, graded_assignments, graded_cells, notebook_path
from tests.notebooks.harness import AssignmentRun, read_nb, run_assignment, student_for, validate

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


def _visible_failure(rec, gid: str) -> str | None:
    cases = [c for c in rec.tests[gid].cases if c["visible"]]
    bad = sorted((c for c in cases if not c["ok"]), key=lambda c: c["index"])
    return bad[0]["message"] if bad else None


@per_assignment
def test_solution_scores_full_marks(run):
    sol = run.records["solution"]
    assert sol.graded and sol.max_score > 0, sol.reason
    assert sol.score == sol.max_score, {g: t.message for g, t in sol.tests.items() if not t.passed}
    assert not sol.flags, [str(f) for f in sol.flags]


@per_assignment
def test_release_scores_zero_with_every_test_failing(run):
    rel = run.records["release"]
    assert rel.graded and rel.score == 0
    assert rel.tests and all(t.score == 0 for t in rel.tests.values())
    assert all("not implemented yet" in t.message for t in rel.tests.values()), \
        {g: t.message for g, t in rel.tests.items()}


@per_assignment
def test_every_exercise_has_sensitivity_variants(run):
    assert run.exercises, "no exercises found (answer cell exNN_x with test cell exNN_x_tests)"
    for ex in run.exercises:
        assert len(run.wrong.get(ex, {})) >= 3, f"{ex}: needs at least three wrong variants"
        assert ex in run.correct, f"{ex}: needs one differently written correct variant"


@per_assignment
def test_wrong_variants_lose_points_on_their_exercise_only(run):
    for ex, variants in run.wrong.items():
        for name in variants:
            r = run.records[student_for(ex, name, "wrong")]
            assert r.graded, r.reason
            failed = {g for g, t in r.tests.items() if not t.passed}
            # an exercise that calls this answer (the notebook says "finish that first") may fail with it,
            # and then its feedback points back here
            users = {f"{u.id}_tests" for u in map(get_exercise, run.exercises) if ex in u.uses}
            assert f"{ex}_tests" in failed and failed <= {f"{ex}_tests"} | users, f"{ex}/{name}: failed {sorted(failed)}"
            for g in failed - {f"{ex}_tests"}:
                assert f"calls your answer to {ex}" in r.tests[g].message, r.tests[g].message
            assert not r.flags, f"{ex}/{name} was flagged: {[str(f) for f in r.flags]}"


@per_assignment
def test_correct_variants_keep_full_marks(run):
    for ex in run.correct:
        r = run.records[student_for(ex, "alt", "correct")]
        assert r.score == r.max_score, f"{ex}: a correct rewrite lost points: " \
                                       f"{ {g: t.message for g, t in r.tests.items() if not t.passed} }"


@per_assignment
def test_every_hint_fires_in_grading(run):
    for ex, hints in run.fires.items():
        from backproplab.exercises import get

        e = get(ex)
        for key, name in hints.items():
            r = run.records[student_for(ex, name, "wrong")]
            messages = " | ".join(c["message"] for c in r.tests[f"{ex}_tests"].cases)
            assert e.hint(key) in messages, f"{ex}: hint {key!r} did not fire on {name}: {messages[:300]}"


@per_assignment
def test_validate_agrees_with_grading_on_the_visible_cases(run):
    """Validate, run in the kernel as the button runs it, on a hand-in with the first wrong
    variant of every exercise: its message for each test cell is the first failing visible
    case of the trusted grading, word for word (with the same pointer to a failed earlier
    answer the exercise calls). (The solution's test cells pass in a kernel:
    test_notebooks_run_top_to_bottom_in_a_kernel.)"""
    said = validate(run.submissions["all-wrong"])
    rec = run.records["all-wrong"]
    failed = {gid.removesuffix("_tests") for gid in rec.tests if _visible_failure(rec, gid) is not None}
    for gid in rec.tests:
        expected = _visible_failure(rec, gid)
        if expected is not None:     # both point back to an earlier answer this one calls that failed
            expected += failed_uses_note(get_exercise(gid.removesuffix("_tests")), failed)
        assert said.get(gid) == expected, f"{gid}: Validate says {said.get(gid)!r}, " \
                                          f"grading's visible cases say {expected!r}"


@per_assignment
def test_notebooks_run_top_to_bottom_in_a_kernel(aid, tmp_path):
    """Solution: no error anywhere. Release: errors only in cells tagged raises-exception (so
    JupyterLab's Run All goes past them), and every cell runs."""
    from nbclient import NotebookClient

    for base, errors_allowed in ((SOLUTIONS, False), (COURSE, True)):
        nb = read_nb(notebook_path(aid, base))
        NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        tests = {id(c) for c in graded_cells(nb).values()}
        for c in nb.cells:
            if c.cell_type != "code":
                continue
            assert c.get("execution_count") is not None, f"{base.name}: a cell did not run: {c.source[:80]!r}"
            errs = [o for o in c.outputs if o.output_type == "error"]
            stderr = [o for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
            if not errors_allowed:
                assert not errs, f"the solution fails in {c.source[:100]!r}: {errs[0].ename}: {errs[0].evalue}"
                assert not (stderr and id(c) in tests), f"a test cell writes to stderr: {c.source[:80]!r}"
            elif errs:
                assert "raises-exception" in c.metadata.get("tags", []), \
                    f"the release stops Run All at {c.source[:100]!r} ({errs[0].ename}): tag it raises-exception"
                assert id(c) in tests, f"a non-test cell fails in the release: {c.source[:100]!r}: {errs[0].ename}"


def test_variant_files_name_real_exercises():
    from autograder.course import answer_cells
    from tests.notebooks.harness import load_variants

    for aid in AIDS:
        wrong, correct, fires = load_variants(aid, with_fires=True)
        answers = set(answer_cells(read_nb(notebook_path(aid))))
        assert set(wrong) <= answers and set(correct) <= answers and set(fires) <= answers, aid
