"""Write the student edition of the course to a folder, for a public repository.

    python -m autograder.build.publish DEST        # or: make publish DEST=../backprop-course-public

DEST receives ``course/`` (the nbgrader release, rebuilt from ``solutions/``; by default the
command first checks that the committed ``course/`` equals that build), ``lib/`` (the ``backproplab`` package),
``binder/`` (the Binder environment) and a student ``README.md``, and nothing else of this
repository: no ``solutions/``, no ``autograder/``, no ``tests/``. These four entries are
replaced; anything else in DEST (its ``.git``, a licence) is left alone. The result is
checked with :func:`edition_leaks` before anything is written to DEST; on a leak the command
fails and DEST is untouched. So this repository, with ``solutions/``, can stay private.

What the check covers (and what it does not):

- ``course/``, ``binder/``, ``README.md``: no solution line, no hidden-test line, no nbgrader marker.
- ``lib/``: no hidden-test line and no nbgrader marker anywhere. ``lib/`` is the course library the
  notebooks import, and it holds the **reference implementations ("routes") of some exercises**:
  the students' own notebooks draw with them before an exercise is answered, later notebooks
  build on them, and Validate's diagnoses compute with them in the student's kernel. A solution
  line of an exercise may appear in ``lib/`` only in a file that :data:`LIBRARY_ROUTES` lists for
  that exercise, with the reason; anywhere else in ``lib/`` it is refused. Grades do not rest on
  these routes being secret: hidden cases are drawn at grading time and judged outside the
  student's kernel, and an answer that calls a route is refused while it runs and flagged.
- :data:`COMMON_LINES` are idioms that solutions and library share by construction
  (``m = X.shape[1]``) and that give nothing away on their own: they count nowhere.
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import sys
import tempfile
from pathlib import Path

from ..course import COURSE, HIDDEN_MARKERS, REPO, SOLUTION_MARKERS, SOLUTIONS
from .release import build_release, check_release, find_leaks, secret_lines

__all__ = ["COMMON_LINES", "ENTRIES", "LIBRARY_ROUTES", "STUDENT_README", "PublishError", "edition_leaks",
           "library_routes", "publish"]

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
  folder describes the environment) and start with `course/00-index/00-index.ipynb`.
- **On your machine** (Python 3.11):

  ```bash
  python3.11 -m venv .venv
  .venv/bin/pip install -r binder/requirements.txt
  PATH="$PWD/.venv/bin:$PATH" bash binder/postBuild
  .venv/bin/jupyter lab course/00-index/00-index.ipynb
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

The library holds the course's own reference implementations of several exercises (your
notebooks draw with them before you have answered). Your answers are graded on your own code:
an answer that calls the library's implementation of its exercise is refused while it runs.
| `binder/` | the environment (Python 3.11, pinned packages) |
"""


# Files of lib/ allowed to hold the reference implementation of an exercise (grade_id patterns), and why
# they ship to students. A solution line of an exercise found in any other file of lib/ is a leak.
LIBRARY_ROUTES: dict[str, tuple[tuple[str, ...], str]] = {
    "lib/backproplab/autodiff.py": (
        ("ex02_*",),
        ("notebook 02 builds a scalar autodiff engine; the library's `Value` (backward rules, topological sort, "
         "gradient accumulation) is that engine: 02's figures and work counts run on it so Run All works before "
         "the exercises are answered")),
    "lib/backproplab/gradcheck.py": (
        ("ex03_numerical_gradient", "ex03_relative_error"),
        ("centered differences and the relative error: notebooks 03-05 check gradients with them in their demo "
         "cells, and Validate's diagnoses compare with finite differences in the student's kernel")),
    "lib/backproplab/optim.py": (
        ("ex04_descent_step", "ex08_update_rules"),
        ("the update rules (gradient descent, momentum, Adam): notebooks 04-05 train with them in their demo "
         "cells, and so does the training loop (`backproplab.train`) of the later notebooks")),
    "lib/backproplab/layerwise.py": (
        ("ex05_forward", "ex05_backward"),
        ("the neuron-by-neuron loops, one of the course's three routes to one gradient (COURSE.md): notebooks "
         "03-05 draw and compare with it")),
    "lib/backproplab/init.py": (
        ("ex09_init",),
        ("the Glorot and He initializers: notebook 09's depth/scale panel and its which-trains experiment run on "
         "them, and the training code initialises with them")),
    "lib/backproplab/rnn.py": (
        ("ex11_forward", "ex11_bptt", "ex11_clip"),
        ("the Elman network with loop-based backpropagation through time, truncation and clipping: notebook 11's "
         "figures and its truncated-BPTT and clipping experiments run on it before the exercises are answered")),
    "lib/backproplab/exercises/nb11.py": (
        ("ex11_clip",),
        ("notebook 11's checks, which Validate runs in the student's kernel: the reference for clipping is the "
         "clipping formula itself")),
    "lib/backproplab/losses.py": (
        ("ex07_*",),
        ("the losses every notebook from 06 on computes with, stable cross-entropy and its gradient among them")),
    "lib/backproplab/feedback_alignment.py": (
        ("ex10_feedback_alignment", "ex06_backward"),
        ("random synaptic feedback, notebook 10's figure against true backprop: its backward pass is backprop's, "
         "with a fixed random B in place of W^T")),
    "lib/backproplab/levenberg_marquardt.py": (
        ("ex10_levenberg_marquardt",),
        ("Gauss-Newton with Levenberg-Marquardt damping: notebook 10's race against gradient descent runs on it")),
    "lib/backproplab/exercises/nb10.py": (
        ("ex10_quantize",),
        ("notebook 10's checks, which Validate runs in the student's kernel: the reference quantizes by the "
         "formula itself")),
    "lib/backproplab/exercises/nb02.py": (
        ("ex02_*",),
        ("notebook 02's checks, which Validate runs in the student's kernel: they walk the student's graph "
         "without recursion and reset its grads the way the exercises do")),
    "lib/backproplab/exercises/nb03.py": (
        ("ex03_*",),
        ("notebook 03's checks, which Validate runs in the student's kernel: the references are centered "
         "differences and the relative error with the noise floor, computed as the exercises ask")),
}

# Lines that solutions and the library share by construction, and that say nothing of an answer on their own.
COMMON_LINES: frozenset[str] = frozenset({
    "m = X.shape[1]",               # the batch size: columns are examples
    "return dW, db",                # what every backward pass returns
    "for f in funcs:",              # a loop over a list of functions
    "L = len(weights)",             # the depth, as the notation table defines it
    "T = X.shape[0]",               # the number of time steps of a sequence
    "T, _, m = X.shape",            # a batch of sequences: time steps, features, examples
    "for t in range(1, T + 1):",    # forward through time
    "for t in range(T, 0, -1):",    # backward through time
    "for l in range(L, 0, -1):",    # backward through the layers
    "for _ in range(epochs):",      # a loop over epochs
    "_, caches = matrix.forward(weights, biases, X, activations)",   # calling the library's forward pass
    "for W, b, name in zip(weights, biases, activations):",          # a loop over the layers
    "A_prev, _ = caches[l - 1]",    # reading a layer's cache
    "A_prev = caches[l - 1][0]",    # reading a layer's cache
    "caches.append((A, Z))",        # keeping a layer's cache
    "return A, caches",             # what a forward pass returns
    "m = A_L.shape[1]",             # the batch size
    "m = delta_L.shape[1]",         # the batch size
    "m = delta.shape[1]",           # the batch size
    "a = np.asarray(a, dtype=np.float64)",   # float64 input
    "b = np.asarray(b, dtype=np.float64)",   # float64 input
    "e = np.exp(shifted)",          # the exponential of max-shifted logits
    "for i, n in enumerate(sizes):",         # a loop over sizes
    "for k, seed in enumerate(seeds):",      # a loop over seeds
    "while stack:",                 # walking a graph with an explicit stack
})


class PublishError(Exception):
    """One line: why the student edition was not written."""


def _allowed(rel: str, where: str) -> bool:
    """Whether the library file ``rel`` (``lib/...``) may hold solution lines of ``where`` (``aid/grade_id``)."""
    patterns = LIBRARY_ROUTES.get(rel, ((), ""))[0]
    return any(fnmatch.fnmatchcase(where.split("/")[-1], p) for p in patterns)


def _lib_lines(tree: Path) -> dict[str, set[str]]:
    out = {}
    for p in sorted((tree / "lib").rglob("*")):
        if p.is_file():
            try:
                text = p.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            out[p.relative_to(tree).as_posix()] = text
    return out


def library_routes(tree: Path, source: Path = SOLUTIONS) -> list[tuple[str, str, str]]:
    """``(lib file, aid/grade_id, line)`` for every solution line that ``lib/`` holds, allowed or not
    (:data:`COMMON_LINES` left out): what the edition gives away in its library."""
    files = {rel: {ln.strip() for ln in text.splitlines()} for rel, text in _lib_lines(tree).items()}
    return [(rel, where, line) for where, kind, line in secret_lines(source) if kind == "solution"
            and line not in COMMON_LINES for rel, have in files.items() if line in have]


def edition_leaks(tree: Path, source: Path = SOLUTIONS) -> list[str]:
    """Leaks in a student edition (see the module docstring for what is covered).

    Notebooks, README and binder/: any solution or hidden-test line, or nbgrader marker
    (:func:`find_leaks`). ``lib/``: any nbgrader marker or hidden-test line, and any solution
    line outside the files :data:`LIBRARY_ROUTES` allows for its exercise; lines of
    :data:`COMMON_LINES` do not count."""
    problems = []
    if (tree / "course").is_dir():  # each notebook against its own solutions (a generic line of one is no leak in another)
        problems += [f"course/{p}" for p in find_leaks(tree / "course", source)]
    with tempfile.TemporaryDirectory(prefix="bpl-leaks-") as tmp:
        rest = Path(tmp) / "rest"
        shutil.copytree(tree, rest, ignore=shutil.ignore_patterns("lib", "course"))
        problems += [p.replace(str(rest), str(tree)) for p in find_leaks(rest, source)]
    texts = _lib_lines(tree)
    lines = {rel: {ln.strip() for ln in text.splitlines()} for rel, text in texts.items()}
    for rel, text in texts.items():
        problems += [f"{rel}: nbgrader marker {m!r}" for m in SOLUTION_MARKERS + HIDDEN_MARKERS if m in text]
    for where, kind, line in secret_lines(source):
        if line in COMMON_LINES:
            continue
        for rel, have in lines.items():
            if line not in have:
                continue
            if kind == "hidden test":
                problems.append(f"{rel}: hidden test line of {where}: {line!r}")
            elif not _allowed(rel, where):
                problems.append(f"{rel}: solution line of {where}: {line!r} (this file is not a route of "
                                f"{where.split('/')[-1]} in LIBRARY_ROUTES of autograder/build/publish.py)")
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
    print(f"published the student edition to {a.dest.resolve()}: {', '.join(names)}\n"
          "checked: no solution line, hidden-test line or nbgrader marker in course/, binder/ or README.md; no "
          "hidden-test line or marker in lib/; solution lines in lib/ only in the reference routes of "
          "LIBRARY_ROUTES:")
    for rel, (patterns, why) in LIBRARY_ROUTES.items():
        print(f"  {rel} ({', '.join(patterns)}): {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
