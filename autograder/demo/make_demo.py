"""Regenerate the demo class: ``python -m autograder.demo.make_demo`` writes ``export.zip``.

Twenty synthetic students hand in every released notebook, as Canvas exports them (flat
files named ``<login>_<user id>_<submission id>_<assignment>.ipynb``): correct work, work
with the common mistakes of ``tests/notebooks/variants/``, unanswered work, and, on the
first assignment, hostile hand-ins that the grader must survive and see through. Built
from ``solutions/`` (through a fresh nbgrader release) so it follows the notebooks as
they change.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import nbformat

from autograder.build.authoring import filled_submission
from autograder.course import COURSE, REPO, SOLUTIONS, answer_cells, graded_cells, notebook_path
from autograder.grading.pipeline import gradeable
from tests.notebooks.harness import exercise_ids, load_variants, read_nb

__all__ = ["PATCHES", "STEAL", "build", "class_for"]

HERE = Path(__file__).resolve().parent

PATCHES = '''
# "helpers" that make every check pass
import builtins
import numpy as np
import backproplab.exercises as _ex
np.allclose = lambda *a, **k: True
_ex.check = lambda *a, **k: None
check = lambda *a, **k: None
builtins.abs = lambda x: 0
'''

STEAL = '''
# look around for the instructor's solutions and copy them in
import glob, json as _json, os
for _up in range(12):
    for _path in glob.glob(os.path.join("../" * _up, "solutions", "*", "*.ipynb")) + \\
                 glob.glob(os.path.join("../" * _up, "source", "*", "*.ipynb")):
        try:
            for _c in _json.load(open(_path))["cells"]:
                if _c.get("metadata", {}).get("nbgrader", {}).get("solution"):
                    exec("".join(_c["source"]), globals())
        except Exception:
            pass
'''


def _stub_body(release_nb, gid: str, body: str) -> str:
    """The release's answer cell with its NotImplementedError replaced by ``body``."""
    src = answer_cells(release_nb)[gid].source
    return src.replace("raise NotImplementedError()", body, 1)


def class_for(aid: str, release_nb, source_nb, first: bool, other_nb=None) -> list[tuple[str, bytes, int]]:
    """(student, file bytes, minutes after the deadline base) for one assignment."""
    exs = exercise_ids(source_nb)
    wrong, correct = load_variants(aid)

    def sub(replace=None, tests=None) -> bytes:
        nb = filled_submission(release_nb, source_nb, replace or {})
        if tests:
            tests(nb)
        return nbformat.writes(nb).encode()

    def wrong_for(i: int, k: int = 0) -> dict:
        ex = exs[i % len(exs)]
        names = sorted(wrong.get(ex, {}))
        if not names:
            return {ex: answer_cells(release_nb)[ex].source}
        return {ex: wrong[ex][names[k % len(names)]]}

    out = [("lovelace", sub(), 0), ("hopper", sub(), 5),
           ("turing", sub({g: c for g, c in correct.items() if g in exs}), 10)]
    partial = ["noether", "gauss", "euler", "riemann", "hilbert", "cantor", "germain", "ramanujan"]
    for i, name in enumerate(partial):
        rep = wrong_for(i, i)
        if i % 3 == 0:
            rep.update(wrong_for(i + 1, i + 2))
        out.append((name, sub(rep), 15 + i))
    out.append(("fermat", nbformat.writes(release_nb).encode(), 30))  # handed in the untouched release
    if not first:
        for name in ("mallory", "trudy", "loopy", "crashy", "eve", "twice", "broken", "wrongfile"):
            out.append((name, sub(wrong_for(0, 1)), 40))
        return out
    ex0 = exs[0]
    base_wrong = wrong_for(0, 0)
    out.append(("mallory", sub({**base_wrong, ex0: base_wrong[ex0] + "\n" + PATCHES}), 40))
    out.append(("trudy", sub({g: answer_cells(release_nb)[g].source for g in exs} | {ex0: answer_cells(release_nb)[ex0].source + "\n" + STEAL}), 41))
    out.append(("loopy", sub({ex0: _stub_body(release_nb, ex0, "while True:\n        pass")}), 42))
    out.append(("crashy", sub({ex0: "import os\n" + _stub_body(release_nb, ex0, "os._exit(1)")}), 43))

    def edit_tests(nb):
        for c in graded_cells(nb).values():
            c.source = "# the tests pass now\npass"

    out.append(("eve", sub(wrong_for(0, 2) | wrong_for(1, 2), tests=edit_tests), 44))
    out.append(("twice", sub(wrong_for(0, 3)), 45))
    out.append(("twice", sub(), 90))  # the corrected second hand-in, later
    good = sub()
    out.append(("broken", good[: len(good) // 2], 46))  # a download cut short: invalid JSON
    if other_nb is not None:
        out.append(("wrongfile", nbformat.writes(other_nb).encode(), 47))
    else:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# my notes for the exam")])
        out.append(("wrongfile", nbformat.writes(nb).encode(), 47))
    return out


def _committed(folder: Path) -> bool:
    import subprocess

    try:
        out = subprocess.run(["git", "ls-files", str(folder)], cwd=REPO, capture_output=True, text=True, check=False)
    except OSError:
        return folder.is_dir()
    return bool(out.stdout.strip()) if out.returncode == 0 else folder.is_dir()


STUDENTS = ["lovelace", "hopper", "turing", "noether", "gauss", "euler", "riemann", "hilbert", "cantor", "germain",
            "ramanujan", "fermat", "mallory", "trudy", "loopy", "crashy", "eve", "twice", "broken", "wrongfile"]


def build(dest: Path = HERE / "export.zip", source: Path = SOLUTIONS) -> Path:
    """Write the demo export (a zip as Canvas produces it)."""
    aids = [a for a in gradeable(source) if _committed(REPO / "course" / a)]
    files = []
    for i, aid in enumerate(aids):
        rel, src = read_nb(notebook_path(aid, COURSE)), read_nb(notebook_path(aid, source))
        other = None
        if i == 0 and len(aids) > 1:
            other = filled_submission(read_nb(notebook_path(aids[1], COURSE)), read_nb(notebook_path(aids[1], source)))
        for student, data, minute in class_for(aid, rel, src, first=(i == 0), other_nb=other):
            n = sum(1 for f in files if f[0].startswith(f"{student}_") and aid in f[0])
            suffix = f"-{n}" if n else ""
            uid = 1000 + STUDENTS.index(student)
            files.append((f"{student}_{uid}_{50_000 + len(files)}_{aid}{suffix}.ipynb", data,
                          (2025, 3, 1 + i, 12 + minute // 60, minute % 60, 0)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data, when in files:
            info = zipfile.ZipInfo(f"submissions/{name}", date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    dest.write_bytes(buf.getvalue())
    return dest


def main() -> int:
    path = build()
    with zipfile.ZipFile(path) as zf:
        n = len(zf.namelist())
    print(f"wrote {path} ({n} hand-ins, {path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
