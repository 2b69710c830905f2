"""Build submissions from the source notebooks and grade a batch of them with nbgrader.

Used by the notebook tests (solution, release and sensitivity variants graded as
students of one autograde run) and by the grading pipeline.
"""

from __future__ import annotations

import runpy
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import REPO, SOLUTIONS, answer_cells, graded_cells, make_config, notebook_path, strip_solution_markers

VARIANTS = REPO / "tests" / "notebooks" / "variants"


def load_variants(aid: str, folder: Path = VARIANTS, with_fires: bool = False):
    """The sensitivity variants of ``aid`` from ``folder/<aid>.py`` (empty when there is none):
    ``WRONG`` {exercise: {name: code}}, ``CORRECT`` {exercise: code} and, with ``with_fires``,
    ``FIRES`` {exercise: {hint key: the wrong variant's name on which that hint must fire}}."""
    path = folder / f"{aid}.py"
    ns = runpy.run_path(str(path)) if path.exists() else {}
    out = ns.get("WRONG", {}), ns.get("CORRECT", {})
    return (*out, ns.get("FIRES", {})) if with_fires else out


def read_nb(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def filled_submission(release_nb: nbformat.NotebookNode, source_nb: nbformat.NotebookNode,
                      replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """A student's notebook: the release with every answer cell filled in.

    Answer cells get the source's solution (marker lines removed), except those
    named in ``replace`` (grade_id -> code), which get that code instead.
    """
    replace = replace or {}
    solutions = answer_cells(source_nb)
    unknown = set(replace) - set(solutions)
    if unknown:
        raise KeyError(f"no answer cell with grade_id {sorted(unknown)}")
    nb = nbformat.from_dict(release_nb)
    for gid, cell in answer_cells(nb).items():
        cell.source = replace[gid] if gid in replace else strip_solution_markers(solutions[gid].source)
    return nb


@dataclass
class Graded:
    """One student's autograde result for one notebook."""

    student: str
    score: float
    max_score: float
    grades: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade_id -> (score, max)
    autograded: Path | None = None

    def failed_exercises(self) -> set[str]:
        return {g for g, (s, m) in self.grades.items() if s < m}


class GradingRoot:
    """A private nbgrader course root with the assignments of ``source`` released.

    ``grade(aid, {student: notebook})`` writes the submissions and autogrades all
    of them in one nbgrader run, then reads the gradebook.
    """

    def __init__(self, root: Path, source: Path = SOLUTIONS, aids: list[str] | None = None) -> None:
        from nbgrader.apps import NbGraderAPI

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        src = self.root / "source"
        if not src.exists():
            shutil.copytree(source, src, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        self.config = make_config(root=self.root)
        self.api = NbGraderAPI(config=self.config)
        self.aids = aids or sorted(p.name for p in src.iterdir() if p.is_dir())
        for aid in self.aids:
            res = self.api.generate_assignment(aid, force=True, create=True)
            if not res["success"]:
                raise RuntimeError(f"generate_assignment {aid} failed:\n{res.get('log')}\n{res.get('error')}")

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.db_url

    def source_nb(self, aid: str) -> nbformat.NotebookNode:
        return read_nb(notebook_path(aid, self.root / "source"))

    def release_nb(self, aid: str) -> nbformat.NotebookNode:
        return read_nb(notebook_path(aid, self.root / "release"))

    def release_path(self, aid: str) -> Path:
        return notebook_path(aid, self.root / "release")

    def submit(self, aid: str, student: str, nb: nbformat.NotebookNode) -> Path:
        path = self.root / "submitted" / student / aid / f"{aid}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        return path

    def autograde(self, aid: str, student: str = "*") -> None:
        res = self.api.autograde(aid, student, force=True, create=True)
        if not res["success"]:
            raise RuntimeError(f"autograde {aid} failed:\n{res.get('log')}\n{res.get('error')}")

    def results(self, aid: str, students: list[str]) -> dict[str, Graded]:
        from nbgrader.api import Gradebook

        out = {}
        with Gradebook(self.db_url) as gb:
            for sid in students:
                nb = gb.find_submission_notebook(aid, aid, sid)
                grades = {g.name: (float(g.score), float(g.max_score)) for g in nb.grades if g.cell_type == "code"}
                out[sid] = Graded(sid, float(nb.score), float(nb.max_score), grades,
                                  self.root / "autograded" / sid / aid / f"{aid}.ipynb")
        return out

    def grade(self, aid: str, submissions: dict[str, nbformat.NotebookNode]) -> dict[str, Graded]:
        for sid, nb in submissions.items():
            self.submit(aid, sid, nb)
        self.autograde(aid)
        return self.results(aid, list(submissions))

    def validate(self, path: Path) -> dict:
        """nbgrader's Validate verdict for a notebook, as the Validate button computes it."""
        from nbgrader.validator import Validator

        return Validator(config=self.config).validate(str(path))


def exercise_ids(nb: nbformat.NotebookNode) -> list[str]:
    """Exercise ids of a notebook: each answer cell ``exNN_name`` with its test cell ``exNN_name_tests``."""
    answers, tests = answer_cells(nb), graded_cells(nb)
    return [gid for gid in answers if f"{gid}_tests" in tests]
