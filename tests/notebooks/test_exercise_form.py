"""The form every exercise takes (trusted grading), checked without a kernel.

- Each test cell is a docstring, ``check("<id>", <the exercise's names>)`` and a one-line hidden
  block calling the same with ``hidden=True``; it carries the ``raises-exception`` tag (Run All
  goes on) and its points are the sum of the exercise's parts.
- The solution and each correct rewrite, run in this process on top of the notebook's setup
  cells and the other solutions, pass for more seeds than the one the pipeline draws, and
  ``FIRES`` names a wrong variant for every hint (test_assignments.py shows each one fires).

These run in seconds; ``test_assignments.py`` proves the same through real kernels and grading.
"""

from __future__ import annotations

import ast
import re
import warnings

import matplotlib
import numpy as np
import pytest
from backproplab.exercises import evaluate, get

from autograder.course import answer_cells, graded_assignments, graded_cells, nbgrader_meta, notebook_path
from autograder.course import strip_solution_markers as strip
from autograder.grading.notebook import free_and_defined
from tests.notebooks.harness import load_variants, read_nb

matplotlib.use("Agg")
AIDS = graded_assignments()
SEEDS = (11, 12)


def _call_names(node: ast.Call) -> tuple[str, list[str], bool]:
    first = node.args[0]
    assert isinstance(first, ast.Constant) and isinstance(first.value, str), "check's first argument is the id"
    names = []
    for a in node.args[1:]:
        assert isinstance(a, ast.Name), f"check({first.value!r}, ...) passes names, got {ast.dump(a)[:60]}"
        names.append(a.id)
    hidden = any(k.arg == "hidden" and isinstance(k.value, ast.Constant) and k.value.value is True
                 for k in node.keywords)
    return first.value, names, hidden


@pytest.mark.parametrize("aid", AIDS)
def test_exercises_declare_the_answers_they_call(aid):
    """``Exercise.uses`` names exactly the earlier answers whose functions the solution's answer calls."""
    answers = {gid: strip(c.source) for gid, c in answer_cells(read_nb(notebook_path(aid))).items()}
    defined = {gid: free_and_defined(src)[1] for gid, src in answers.items()}
    for gid, src in answers.items():
        free = free_and_defined(src)[0]
        calls = {other for other, names in defined.items() if other != gid and free & names}
        assert set(get(gid).uses) == calls, f"{gid}: uses {get(gid).uses}, its answer calls {sorted(calls)}"


@pytest.mark.parametrize("aid", AIDS)
def test_test_cells_are_a_docstring_and_a_check(aid):
    nb = read_nb(notebook_path(aid))
    tests = graded_cells(nb)
    assert tests, f"{aid} has no test cells"
    for gid, cell in tests.items():
        ex_id = gid.removesuffix("_tests")
        ex = get(ex_id)
        src = cell.source
        visible, _, hidden = src.partition("### BEGIN HIDDEN TESTS")
        assert hidden.strip().endswith("### END HIDDEN TESTS"), f"{gid}: one hidden block at the end"
        hidden = hidden.replace("### END HIDDEN TESTS", "")
        body = ast.parse(visible).body
        assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), f"{gid}: opens with a docstring"
        doc = body[0].value.value
        assert doc.startswith(f"{ex_id}: ") and "\n" not in doc, f"{gid}: one-line docstring '{ex_id}: ...'"
        calls = body[1:]
        assert len(calls) == 1 and isinstance(calls[0].value, ast.Call), f"{gid}: the docstring and one check() call"
        eid, names, hid = _call_names(calls[0].value)
        assert (eid, tuple(names), hid) == (ex_id, ex.names, False), f"{gid}: check({ex_id!r}, {', '.join(ex.names)})"
        hbody = ast.parse(hidden).body
        assert len(hbody) == 1, f"{gid}: the hidden block is one check(..., hidden=True) call"
        eid, names, hid = _call_names(hbody[0].value)
        assert (eid, tuple(names), hid) == (ex_id, ex.names, True), f"{gid}: hidden block calls check(..., hidden=True)"
        assert "raises-exception" in cell.metadata.get("tags", []), f"{gid}: tag it raises-exception (Run All)"
        assert float(nbgrader_meta(cell)["points"]) == ex.points, f"{gid}: points {nbgrader_meta(cell)['points']} " \
                                                                 f"!= the exercise's parts {ex.parts}"
        assert ex_id in answer_cells(nb), f"{gid}: no answer cell {ex_id}"
        assert re.search(rf"Exercise `{ex_id}`", "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")), \
            f"{ex_id}: no markdown heading names the exercise"


def notebook_namespace(aid: str, replace: dict[str, str] | None = None) -> dict:
    """The namespace after running, in this process, the notebook's locked setup cells and
    every answer cell (the solution, or ``replace[grade_id]``), in notebook order."""
    nb = read_nb(notebook_path(aid))
    replace = replace or {}
    ns: dict = {"__name__": "__notebook__"}
    for cell in nb.cells:
        m = nbgrader_meta(cell)
        if cell.cell_type != "code" or m.get("grade"):
            continue
        if m.get("solution"):
            src = replace.get(m["grade_id"], strip(cell.source))
        elif m.get("locked"):
            src = cell.source
        else:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(src, f"<{aid}:{m.get('grade_id')}>", "exec"), ns)  # noqa: S102 - the course's own cells
    return ns


def _verdict(aid: str, ex_id: str, code: str | None, seed: int):
    ns = notebook_namespace(aid, {ex_id: code} if code is not None else None)
    ex = get(ex_id)
    return evaluate(ex, [ns[n] for n in ex.names], ex.all_cases(np.random.default_rng(seed)))


@pytest.mark.parametrize("aid", AIDS)
def test_solution_and_correct_rewrites_pass_for_other_seeds(aid):
    """The pipeline grades each hand-in with one seed; here the solution and every correct
    rewrite pass for more, in this process (the wrong variants and the hints are proven
    through the real pipeline in test_assignments.py)."""
    _, correct, fires = load_variants(aid, with_fires=True)
    nb = read_nb(notebook_path(aid))
    for ex_id in answer_cells(nb):
        ex = get(ex_id)
        assert set(fires.get(ex_id, {})) == set(ex.hints), \
            f"{ex_id}: FIRES must name a wrong variant for every hint: {sorted(ex.hints)}"
        for seed in SEEDS:
            v = _verdict(aid, ex_id, None, seed)
            assert v.passed, f"{ex_id}: the solution fails (seed {seed}): {v.message}"
            if ex_id in correct:
                v = _verdict(aid, ex_id, correct[ex_id], seed)
                assert v.passed, f"{ex_id}: the correct rewrite fails (seed {seed}): {v.message}"
