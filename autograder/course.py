"""Where the course lives and how nbgrader sees it.

One nbgrader assignment per notebook: ``solutions/<id>/<id>.ipynb`` is the source,
``course/<id>/<id>.ipynb`` the student release. The gradebook and submissions live
under ``autograder/`` and are never committed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
from backproplab.kernel_client import CLIENT_CLASS
from traitlets.config import Config

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "course"
AUTOGRADER = REPO / "autograder"
COURSE_ID = "backprop"

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
ASSIGNMENT_RE = re.compile(r"^\d\d-[a-z0-9-]+$")

# nbgrader runs `alembic` as a command: the interpreter's own bin folder must be on PATH.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


def apply_config(c: Config, root: Path | None = None, source: str | None = None,
                 release: str | None = None, db: Path | None = None) -> Config:
    """Fill an nbgrader ``Config`` for a course root (default: this repository).

    For the repository, ``source`` is ``solutions`` and ``release`` is ``course``;
    a test or the grading pipeline passes a private root of its own.
    """
    root = Path(root or REPO).resolve()
    in_repo = root == REPO
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = source or ("solutions" if in_repo else "source")
    c.CourseDirectory.release_directory = release or ("course" if in_repo else "release")
    sub = "autograder/" if in_repo else ""
    c.CourseDirectory.submitted_directory = sub + "submitted"
    c.CourseDirectory.autograded_directory = sub + "autograded"
    c.CourseDirectory.feedback_directory = sub + "feedback"
    db = db or (root / (sub + "gradebook.db"))
    c.CourseDirectory.db_url = f"sqlite:///{Path(db).resolve()}"
    # A student's kernel gets a fixed budget per cell; a hang must not stall a class.
    c.ExecutePreprocessor.timeout = 120
    c.Execute.timeout = 120
    # Validate's kernel client, as the Validate button has it (binder/postBuild): without it a cell
    # with a widget can wait out that budget after it has finished (backproplab/kernel_client.py).
    c.AsyncKernelManager.client_class = CLIENT_CLASS
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    return c


def make_config(**kw) -> Config:
    """A fresh ``Config`` filled by :func:`apply_config`."""
    return apply_config(Config(), **kw)


def assignments(source: Path = SOLUTIONS) -> list[str]:
    """Assignment ids in course order: the folders of ``solutions/`` named ``NN-name``."""
    return sorted(p.name for p in source.iterdir() if p.is_dir() and ASSIGNMENT_RE.match(p.name))


def graded_assignments(source: Path = SOLUTIONS) -> list[str]:
    """The assignments with exercises: all but the front matter ``00-*`` (the course index)."""
    return [a for a in assignments(source) if not a.startswith("00-")]


def notebook_path(aid: str, base: Path = SOLUTIONS) -> Path:
    """``base/<aid>/<aid>.ipynb``."""
    return base / aid / f"{aid}.ipynb"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def answer_cells(nb) -> dict[str, nbformat.NotebookNode]:
    """Autograded answer cells (solution, not graded) by grade_id."""
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells
            if nbgrader_meta(c).get("solution") and not nbgrader_meta(c).get("grade")}


def graded_cells(nb) -> dict[str, nbformat.NotebookNode]:
    """Autograded test cells (graded, not solution) by grade_id."""
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells
            if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}


def strip_solution_markers(source: str) -> str:
    """The solution as a student would have written it: marker lines removed."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in SOLUTION_MARKERS)


def marked_lines(source: str, markers: tuple[str, str]) -> tuple[list[str], set[str]]:
    """Distinctive lines inside the blocks ``markers`` delimit (e.g. :data:`HIDDEN_MARKERS`),
    and every line outside them: the one parser of nbgrader's BEGIN/END blocks."""
    begin, end = markers
    lines, outside, inside = [], set(), False
    for line in source.splitlines():
        s = line.strip()
        if s == begin:
            inside = True
        elif s == end:
            inside = False
        elif inside and len(s) >= 12 and not s.startswith("#"):
            lines.append(s)
        elif not inside:
            outside.add(s)
    return lines, outside
