"""Regenerate ``course/`` from ``solutions/`` with nbgrader (always forced).

    python -m autograder.build.release            # rebuild course/
    python -m autograder.build.release --check    # fail if course/ differs from a fresh build
    python -m autograder.build.release --only 02-computational-graphs   # rebuild one assignment

A release is built in a private temporary course root, then compared with or
copied over ``course/``, so a failed build never leaves a half-written release and
the repository's gradebook is not touched.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from ..course import (
    COURSE,
    HIDDEN_MARKERS,
    SOLUTION_MARKERS,
    SOLUTIONS,
    answer_cells,
    assignments,
    graded_cells,
    make_config,
    marked_lines,
    notebook_path,
)


def build_release(dest: Path, source: Path = SOLUTIONS, only: list[str] | None = None) -> list[str]:
    """Generate the student release of every assignment in ``source`` into ``dest``.

    Returns the assignment ids built. Raises ``RuntimeError`` with nbgrader's log
    when an assignment fails to build.
    """
    from nbgrader.apps import NbGraderAPI

    aids = only or assignments(source)
    with tempfile.TemporaryDirectory(prefix="bpl-release-") as tmp:
        root = Path(tmp)
        shutil.copytree(source, root / "source", ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__"))
        api = NbGraderAPI(config=make_config(root=root))
        for aid in aids:
            result = api.generate_assignment(aid, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader could not release {aid}:\n{result['log']}\n{result['error']}")
        dest.mkdir(parents=True, exist_ok=True)
        for aid in aids:
            target = dest / aid
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(root / "release" / aid, target)
    return aids


def _tree_diff(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b)
    out = [f"only in {a.name}: {n}" for n in cmp.left_only] + [f"only in fresh build: {n}" for n in cmp.right_only]
    out += [f"differs: {n}" for n in cmp.diff_files]
    for sub in cmp.common_dirs:
        out += [f"{sub}/{line}" for line in _tree_diff(a / sub, b / sub)]
    return out


def check_release(course: Path = COURSE, source: Path = SOLUTIONS) -> list[str]:
    """Differences between ``course`` and a fresh build (empty when in sync).

    Files in ``course/`` that are not releases of an assignment (the index notebook)
    are left out of the comparison.
    """
    with tempfile.TemporaryDirectory(prefix="bpl-check-") as tmp:
        fresh = Path(tmp) / "course"
        aids = build_release(fresh, source)
        problems = []
        for aid in aids:
            if not (course / aid).is_dir():
                problems.append(f"{aid}: not released in course/")
                continue
            problems += [f"{aid}/{d}" for d in _tree_diff(course / aid, fresh / aid)]
        extra = {p.name for p in course.iterdir() if p.is_dir()} - set(aids)
        problems += [f"{e}: in course/ but not in solutions/" for e in sorted(extra)]
        return problems


def secret_lines(source: Path = SOLUTIONS) -> list[tuple[str, str, str]]:
    """``(assignment/grade_id, kind, line)`` for every distinctive solution or hidden-test line.

    A line that the source also writes outside those blocks (a visible test repeating a
    loop header, narrative quoting a formula) is public and not listed.
    """
    out = []
    for aid in assignments(source):
        nb = nbformat.read(str(notebook_path(aid, source)), as_version=4)
        public: set[str] = set()  # every line written outside the marked blocks, in any cell
        for c in nb.cells:
            public |= marked_lines(c.source, SOLUTION_MARKERS)[1] & marked_lines(c.source, HIDDEN_MARKERS)[1]
        secret = []
        for kind, cells, markers in (("solution", answer_cells(nb), SOLUTION_MARKERS),
                                     ("hidden test", graded_cells(nb), HIDDEN_MARKERS)):
            for gid, cell in cells.items():
                secret += [(f"{aid}/{gid}", kind, ln) for ln in marked_lines(cell.source, markers)[0]]
        out += [(where, kind, ln) for where, kind, ln in secret if ln not in public]
    return out


def find_leaks(tree: Path, source: Path = SOLUTIONS) -> list[str]:
    """Every solution or hidden-test line, or nbgrader marker, found in a text file under ``tree``.

    A secret line counts when it stands as a whole line (stripped), in the release of
    its own assignment (``tree/<aid>/``) or in any file outside the assignments'
    folders: a short generic line of one notebook's solution (``m = X.shape[1]``)
    written in another notebook is no leak.
    """
    aids = set(assignments(source))
    files: dict[Path, tuple[str, str]] = {}  # path -> (raw text, text with notebook cells decoded)
    for p in tree.rglob("*"):
        if p.is_file() and p.suffix in {".ipynb", ".py", ".md", ".txt", ".html", ".json", ".cfg", ".toml", ""}:
            try:
                raw = p.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            decoded = raw
            if p.suffix == ".ipynb":  # notebooks store sources as JSON strings
                try:
                    decoded = "\n".join(c.source for c in nbformat.reads(raw, as_version=4).cells)
                except (ValueError, KeyError, AttributeError):  # not a readable notebook: its raw text
                    pass
            files[p] = (raw, decoded)
    problems = []
    for p, (raw, _) in files.items():
        for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
            if marker in raw:
                problems.append(f"{p.relative_to(tree)}: nbgrader marker {marker!r}")
    lines = {p: {ln.strip() for ln in decoded.splitlines()} for p, (_, decoded) in files.items()}
    for where, kind, line in secret_lines(source):
        owner = where.split("/")[0]
        for p, have in lines.items():
            top = p.relative_to(tree).parts[0]
            if top in aids and top != owner:
                continue
            if line in have:
                problems.append(f"{p.relative_to(tree)}: {kind} line of {where}: {line!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare course/ with a fresh build; change nothing")
    ap.add_argument("--only", nargs="+", metavar="ASSIGNMENT", help="rebuild only these assignments")
    args = ap.parse_args(argv)
    known = assignments()
    for aid in args.only or []:
        if aid not in known:
            ap.error(f"unknown assignment {aid!r}; solutions/ has: {', '.join(known)}")
    if args.check:
        problems = check_release()
        for p in problems:
            print(p)
        print("course/ is in sync with solutions/" if not problems else
              f"course/ is stale: {len(problems)} difference(s); run `make release`")
        return 1 if problems else 0
    aids = build_release(COURSE, only=args.only)
    print(f"released {len(aids)} assignment(s) into course/: {', '.join(aids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
