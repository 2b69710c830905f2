"""Cell constructors for writing a course notebook with correct nbgrader metadata.

    from autograder.build.authoring import md, code, setup, answer, tests, notebook
    nb = notebook([md("# 01 · ..."), setup("import numpy as np"), answer("ex01_chain", src),
                   tests("ex01_chain", test_src, points=2)])
    nbformat.write(nb, "solutions/01-chain-rule/01-chain-rule.ipynb")

Conventions (exercise contract): the answer cell of exercise ``exNN_name`` has
grade_id ``exNN_name`` and holds a function whose body is the solution between
``### BEGIN SOLUTION`` / ``### END SOLUTION``; its test cell has grade_id
``exNN_name_tests``, opens with a one-line docstring, runs visible checks, then
hidden tests between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``.
"""

from __future__ import annotations

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["HOW_TO", "answer", "code", "filled_submission", "md", "notebook", "setup", "tests"]

HOW_TO = """\
> **How to work on this notebook.** Run the cells from the top (*Run ▸ Run All Cells* is fine:
> unanswered exercises raise `NotImplementedError` but every other cell still runs).
> Write your answers where it says `# YOUR CODE HERE`, replacing `raise NotImplementedError()`.
> Each exercise is followed by a test cell: run it, and read its one-line message if it fails.
> Press **Validate** in the toolbar to run every visible test at once. Hidden tests run when
> your notebook is graded, so make your functions work for any shapes and values, not just the
> examples. **On Binder, download often** (*File ▸ Download*): a session ends after about
> 10 minutes idle and takes unsaved work with it. Hand in the downloaded `.ipynb` file.
"""


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None) -> dict:
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def md(text: str):
    """A narrative cell (Markdown with LaTeX)."""
    return new_markdown_cell(_src(text))


def code(text: str, tags: list[str] | None = None):
    """An ordinary code cell (demos, figures, ungraded interactive cells)."""
    c = new_code_cell(_src(text))
    if tags:
        c.metadata["tags"] = tags
    return c


def setup(text: str, grade_id: str = "setup"):
    """A read-only code cell (imports, given helpers): locked, so Validate flags edits."""
    c = new_code_cell(_src(text))
    c.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    return c


def answer(grade_id: str, text: str):
    """The answer cell of an exercise: a function whose body holds the solution block."""
    c = new_code_cell(_src(text))
    c.metadata.update(_meta(grade_id, grade=False, solution=True, locked=False))
    return c


def tests(grade_id: str, text: str, points: float):
    """The graded test cell of exercise ``grade_id`` (its grade_id is ``<grade_id>_tests``)."""
    c = new_code_cell(_src(text))
    c.metadata.update(_meta(f"{grade_id}_tests", grade=True, solution=False, locked=True, points=points))
    return c


def notebook(cells: list) -> nbformat.NotebookNode:
    """A notebook with the course's kernel and language metadata."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i:02d}"
    return nb


def filled_submission(release_nb: nbformat.NotebookNode, source_nb: nbformat.NotebookNode,
                      replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """A student's notebook: the release with every answer cell filled in.

    Answer cells get the source's solution (marker lines removed), except those named in
    ``replace`` (grade_id -> code), which get that code instead. Used for the demo class and
    the tests' sensitivity variants.
    """
    from ..course import answer_cells, strip_solution_markers

    replace = replace or {}
    solutions = answer_cells(source_nb)
    unknown = set(replace) - set(solutions)
    if unknown:
        raise KeyError(f"no answer cell with grade_id {sorted(unknown)}")
    nb = nbformat.from_dict(release_nb)
    for gid, cell in answer_cells(nb).items():
        cell.source = replace[gid] if gid in replace else strip_solution_markers(solutions[gid].source)
    return nb
