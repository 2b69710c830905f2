"""The course index, ``00-index``: every notebook with its goals, generated from the notebooks.

    python -m autograder.build.index            # rewrite solutions/00-index and release it into course/
    python -m autograder.build.index --check    # fail if the index is stale (a notebook was added or retitled)

The index is an assignment without exercises (``00-*`` is front matter, see
:func:`autograder.course.graded_assignments`), so nbgrader releases it like every notebook and
``course/`` stays a pure nbgrader output. Each notebook contributes its title (the first ``#``
heading), the first sentence of its introduction, its "You will be able to" list and its
exercise table's points.
"""

from __future__ import annotations

import argparse
import re
import sys

import nbformat

from ..course import COURSE, SOLUTIONS, graded_assignments, notebook_path
from .authoring import code, md, notebook

INDEX_ID = "00-index"
# The Binder urlpath and `make lab`'s page: the index as nbgrader releases it.
INDEX_URLPATH = f"lab/tree/course/{INDEX_ID}/{INDEX_ID}.ipynb"

INTRO = """\
# Backpropagation, from the chain rule to training networks

Start here. The course is a row of notebooks, each one idea, each building on the one before.
Open them in order: click a title below (it opens in a new tab), or find it in the file browser
on the left under `course/`.

**How it works.** Each notebook mixes explanation, short code cells and figures with graded
**exercises**: a function for you to complete where it says `# YOUR CODE HERE`. The cell after
each exercise tests it and says in one line what is wrong. Press **Validate** in the notebook's
toolbar to run every visible test at once; *Success!* means they all pass. When your notebook is
graded, hidden tests also try other shapes and values, so write functions that work in general.

**On Binder, save your work to your computer.** A Binder session ends after about 10 minutes
without activity and takes unsaved work with it, and a new session starts from a clean copy.
Use *File ▸ Download* often. To continue later, open a new session and drag your downloaded
notebook into the file browser. Hand in the downloaded `.ipynb` file, unrenamed.

**First, check that everything works**: click into the cell below and press *Shift+Enter*.
It should print the versions and no error."""

CHECK = """\
import sys
import numpy, sympy, matplotlib, backproplab
print(f"Python {sys.version.split()[0]}, numpy {numpy.__version__}, sympy {sympy.__version__}, "
      f"matplotlib {matplotlib.__version__}, backproplab {backproplab.__version__}: ready.")"""

_TITLE = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)
_POINTS_ROW = re.compile(r"^\|\s*`(ex\w+)`.*\|\s*([\d.]+)\s*\|\s*$", re.MULTILINE)


def notebook_entry(aid: str, source=SOLUTIONS) -> dict:
    """Title, first sentence, goals and exercise points of one notebook, from its first cell."""
    nb = nbformat.read(str(notebook_path(aid, source)), as_version=4)
    first = next(c.source for c in nb.cells if c.cell_type == "markdown")
    m = _TITLE.search(first)
    title = m.group(1) if m else aid
    body = first[m.end():] if m else first
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    intro = next((p for p in paragraphs if not p.startswith(("**", "|", "-", ">"))), "")
    sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z*$`])", " ".join(intro.split()), maxsplit=1)[0] if intro else ""
    goals: list[str] = []
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.strip().lower().startswith("**you will be able to"):
            for g in lines[i + 1:]:
                if g.startswith("- "):
                    goals.append(g[2:].strip())
                elif g.startswith((" ", "\t")) and goals and g.strip():
                    goals[-1] += " " + g.strip()
                else:
                    break
            break
    points = [(ex, float(p)) for ex, p in _POINTS_ROW.findall(first)]
    return {"aid": aid, "title": title, "sentence": sentence, "goals": goals, "points": points}


def _entry_markdown(e: dict) -> str:
    link = f"../{e['aid']}/{e['aid']}.ipynb"
    out = [f"### [{e['title']}]({link})", ""]
    if e["sentence"]:
        out += [e["sentence"], ""]
    if e["goals"]:
        out += ["You will be able to:"] + [f"- {g}" for g in e["goals"]]
    if e["points"]:
        total = sum(p for _, p in e["points"])
        out += ["", f"*{len(e['points'])} graded exercises, {total:g} points.*"]
    return "\n".join(out)


def build_index(source=SOLUTIONS) -> nbformat.NotebookNode:
    """The index notebook for the graded notebooks of ``source``."""
    entries = [notebook_entry(aid, source) for aid in graded_assignments(source)]
    cells = [md(INTRO), code(CHECK), md("## The notebooks")]
    cells += [md(_entry_markdown(e)) for e in entries]
    return notebook(cells)


def index_text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def is_stale(source=SOLUTIONS) -> bool:
    path = notebook_path(INDEX_ID, source)
    return not path.exists() or path.read_text() != index_text(build_index(source))


def write_index(source=SOLUTIONS) -> bool:
    """Rewrite ``source/00-index/00-index.ipynb``; True when it changed."""
    path = notebook_path(INDEX_ID, source)
    new = index_text(build_index(source))
    if path.exists() and path.read_text() == new:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if the index is stale; change nothing")
    args = ap.parse_args(argv)
    if args.check:
        stale = is_stale()
        print("the index is stale: run `python -m autograder.build.index`" if stale else "the index is up to date")
        return 1 if stale else 0
    changed = write_index()
    from .release import build_release

    build_release(COURSE, only=[INDEX_ID])
    print(f"{'rewrote' if changed else 'kept'} {notebook_path(INDEX_ID)}; released it into course/{INDEX_ID}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
