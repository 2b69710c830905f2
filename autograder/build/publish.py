"""Write the student edition of the course to a folder, for a public repository.

    python -m autograder.build.publish DEST        # or: make publish DEST=../backprop-course-public

DEST receives ``course/`` (the nbgrader release, rebuilt from ``solutions/``; by default the
command first checks that the committed ``course/`` equals that build), ``lib/`` (the ``backproplab`` package),
``binder/`` (the Binder environment) and a student ``README.md``, and nothing else of this
repository: no ``solutions/``, no ``autograder/``, no ``tests/``. These four entries are
replaced; anything else in DEST (its ``.git``, a licence) is left alone. The result is
checked with :func:`edition_leaks` (every solution and hidden-test line, and nbgrader's
markers) before anything is written to DEST; on a leak the command fails and DEST is untouched. So this repository, with ``solutions/``, can stay private.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from ..course import COURSE, HIDDEN_MARKERS, REPO, SOLUTION_MARKERS, SOLUTIONS
from .release import build_release, check_release, find_leaks, secret_lines

__all__ = ["ENTRIES", "STUDENT_README", "PublishError", "edition_leaks", "publish"]

ENTRIES = ("course", "lib", "binder", "README.md")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints", "*.pyc", ".pytest_cache",
                                 "build", "dist")

STUDENT_README = """\
# Backpropagation, from the chain rule to training networks

A Jupyter course that takes you from the chain rule to backpropagation you can derive,
implement, check and train with. Every exercise is checked against reference gradients from an
independent route, and a failed check tells you the likely mistake in one line.

## Start

- **In the browser**: open this repository on [Binder](https://mybinder.org) (the `binder/`
  folder describes the environment) and start with `course/00-index.ipynb`.
- **On your machine** (Python 3.11):

  ```bash
  python3.11 -m venv .venv
  .venv/bin/pip install -r binder/requirements.txt
  PATH="$PWD/.venv/bin:$PATH" bash binder/postBuild
  .venv/bin/jupyter lab course/00-index.ipynb
  ```

## How to work

1. Work top to bottom. Write your code where it says `# YOUR CODE HERE`; unanswered exercises
   raise `NotImplementedError`, but every other cell still runs.
2. Run the test cell after each exercise, and press **Validate** to run all visible tests.
   Hidden tests at grading time use other shapes and values.
3. Save often (*File > Download* on Binder: a session ends after about 10 minutes idle).
4. Hand in the downloaded `.ipynb` file, unrenamed, the way your instructor asks.

## Contents

| folder | holds |
|---|---|
| `course/` | the notebooks |
| `lib/` | `backproplab`, the library the notebooks import |
| `binder/` | the environment (Python 3.11, pinned packages) |
"""


class PublishError(Exception):
    """One line: why the student edition was not written."""


def edition_leaks(tree: Path, source: Path = SOLUTIONS) -> list[str]:
    """Leaks in a student edition. Notebooks, README and binder/: any solution or hidden-test
    line (:func:`find_leaks`). ``lib/``: hidden-test lines and nbgrader markers only, because
    the library *is* the reference implementation the no-delegation guard switches off while a
    student's function runs (it is installed on Binder for every student anyway), so it shares
    ordinary lines like ``m = X.shape[1]`` with the solutions by design."""
    with tempfile.TemporaryDirectory(prefix="bpl-leaks-") as tmp:
        rest = Path(tmp) / "rest"
        shutil.copytree(tree, rest, ignore=shutil.ignore_patterns("lib"))
        problems = [p.replace(str(rest), str(tree)) for p in find_leaks(rest, source)]
    hidden = [(w, ln) for w, kind, ln in secret_lines(source) if kind == "hidden test"]
    for p in sorted((tree / "lib").rglob("*")):
        if not p.is_file():
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        rel = p.relative_to(tree)
        problems += [f"{rel}: nbgrader marker {m!r}" for m in SOLUTION_MARKERS + HIDDEN_MARKERS if m in text]
        problems += [f"{rel}: hidden test line of {w}: {ln!r}" for w, ln in hidden if ln in text]
    return problems


def publish(dest: Path, course: Path = COURSE, source: Path = SOLUTIONS, check_sync: bool = True) -> list[str]:
    """Write the student edition into ``dest``; returns the entries written."""
    dest = Path(dest).resolve()
    if dest == REPO or REPO in dest.parents and dest.parts[len(REPO.parts)] in ("solutions", "autograder", "course",
                                                                                 "lib", "binder", "tests"):
        raise PublishError(f"refusing to publish into {dest}: choose a folder outside the course's own folders")
    if dest in REPO.parents:
        raise PublishError(f"refusing to publish into {dest}: it contains this repository")
    if check_sync:
        stale = check_release(course, source)
        if stale:
            raise PublishError(f"course/ is stale ({len(stale)} difference(s), e.g. {stale[0]}); run `make release`")
    with tempfile.TemporaryDirectory(prefix="bpl-publish-") as tmp:
        stage = Path(tmp) / "edition"
        stage.mkdir()
        # the release is rebuilt from solutions/ by nbgrader (course/ is checked to equal it above)
        build_release(stage / "course", source)
        for extra in course.iterdir():  # anything in course/ that is not an assignment's release
            if not (stage / "course" / extra.name).exists() and extra.name not in ("__pycache__", ".ipynb_checkpoints"):
                (shutil.copytree(extra, stage / "course" / extra.name, ignore=_IGNORE) if extra.is_dir()
                 else shutil.copy(extra, stage / "course" / extra.name))
        shutil.copytree(REPO / "lib", stage / "lib", ignore=_IGNORE)
        shutil.copytree(REPO / "binder", stage / "binder", ignore=_IGNORE)
        (stage / "README.md").write_text(STUDENT_README)
        leaks = edition_leaks(stage, source)
        if leaks:
            raise PublishError(f"not published: {len(leaks)} leak(s), e.g. {leaks[0]}")
        dest.mkdir(parents=True, exist_ok=True)
        for name in ENTRIES:
            target = dest / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            src = stage / name
            if src.is_dir():
                shutil.copytree(src, target)
            else:
                shutil.copy(src, target)
    return list(ENTRIES)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m autograder.build.publish", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest", type=Path, help="folder to write the student edition into (e.g. a public repo checkout)")
    ap.add_argument("--no-sync-check", action="store_true", help="skip checking that course/ matches solutions/")
    a = ap.parse_args(argv)
    try:
        names = publish(a.dest, check_sync=not a.no_sync_check)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"published the student edition to {a.dest.resolve()}: {', '.join(names)} (checked: no solution or "
          "hidden-test line)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
