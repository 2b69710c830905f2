"""The notebook that is executed for one hand-in, rebuilt from the release.

What runs is never the student's file. It is the assignment's **release** notebook (the
instructor's narrative, setup and test cells, exactly as students received them) with only
the student's *answer cells* copied in (matched by nbgrader ``grade_id``, then by cell id,
then by the functions they define). Edited, deleted, duplicated or retyped test cells
therefore do not matter; the differences are noted for the report (:func:`student_answers`).

Of that notebook, only what grading needs is executed: the locked setup cells, the answer
cells, any other cell that defines a name the answers or the exercises use (a dependency
closure over the cells' free and defined names, :func:`needed_cells`), and, in place of each
test cell, a **collection cell** that hands the exercise's test inputs to
:func:`backproplab.exercises.collect` and gets the outputs back as data. Demonstrations and
figures that nothing depends on are skipped.
"""

from __future__ import annotations

import json
import re
import symtable

import nbformat

from ..course import answer_cells, graded_cells, nbgrader_meta

__all__ = ["ROLE_KEY", "Unreadable", "assignment_of", "build", "cell_role", "collect_source", "defined_functions",
           "free_and_defined", "needed_cells", "read_handin", "student_answers"]

ROLE_KEY = "bpl_role"   # cell metadata: setup / support / answer / test / skipped
MAX_NOTEBOOK = 20 * 1024 * 1024


class Unreadable(Exception):
    """The hand-in cannot be graded; ``str()`` is the reason shown to the instructor and student."""


def cell_role(cell) -> str:
    return cell.get("metadata", {}).get(ROLE_KEY, "")


_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def defined_functions(source: str) -> set[str]:
    return set(_DEF.findall(source))


def assignment_of(nb, candidates: dict[str, set[str]]) -> str | None:
    """The assignment whose answer grade_ids a notebook holds most of (None: none)."""
    ids = {nbgrader_meta(c).get("grade_id") for c in nb.get("cells", []) if isinstance(c, dict)}
    best, score = None, 0
    for aid, gids in candidates.items():
        n = len(ids & set(gids))
        if n > score:
            best, score = aid, n
    return best


def read_handin(raw: bytes, aid: str, release_nb, candidates: dict[str, set[str]]) -> nbformat.NotebookNode:
    """Parse and check a handed-in file; raise :class:`Unreadable` with the reason."""
    if len(raw) > MAX_NOTEBOOK:
        raise Unreadable(f"the notebook is {len(raw) // (1024 * 1024)} MB, more than the "
                         f"{MAX_NOTEBOOK // (1024 * 1024)} MB accepted (clear its outputs and hand it in again)")
    if not raw.strip():
        raise Unreadable("empty file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable("not a notebook: the file is not UTF-8 text") from None
    except ValueError as exc:
        raise Unreadable(f"invalid notebook JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise Unreadable("invalid notebook JSON (nested too deeply)") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Unreadable("not a notebook: no list of cells")
    if data.get("nbformat") != 4:
        raise Unreadable(f"unsupported notebook format {str(data.get('nbformat'))[:20]!r} (expected 4)")
    try:
        nb = nbformat.from_dict(data)
        for c in nb.cells:
            c.setdefault("metadata", {})
            if isinstance(c.get("source"), list):
                c.source = "".join(c.source)
            if not isinstance(c.get("source", ""), str) or c.get("cell_type") not in ("code", "markdown", "raw"):
                raise TypeError("bad cell")
            if not isinstance(c.metadata, dict) or not isinstance(c.metadata.get("nbgrader", {}), dict):
                raise TypeError("bad metadata")
    except Exception:  # noqa: BLE001 - whatever nbformat objects to
        raise Unreadable("not a notebook: malformed cells") from None
    mine = set(answer_cells(release_nb))
    ids = {nbgrader_meta(c).get("grade_id") for c in nb.cells}
    if not ids & (mine | set(graded_cells(release_nb))):
        other = assignment_of(nb, {a: g for a, g in candidates.items() if a != aid})
        if other:
            raise Unreadable(f"wrong notebook: this is {other}, not {aid}")
        names = set().union(*(defined_functions(c.source) for c in answer_cells(release_nb).values()))
        found = set().union(set(), *(defined_functions(c.source) for c in nb.cells if c.cell_type == "code"))
        if not names & found:
            raise Unreadable(f"wrong notebook: none of the exercises of {aid} is in it")
    return nb


def _norm(s: str) -> str:
    return "\n".join(line.rstrip() for line in s.strip().splitlines())


def student_answers(student_nb, release_nb) -> tuple[dict[str, str], list[str]]:
    """grade_id -> the student's code for each answer cell of the release; and notes on what
    was unusual (answer cells matched by id or function names, test cells edited or deleted)."""
    notes: list[str] = []
    wanted = answer_cells(release_nb)
    cells = list(student_nb.cells)
    by_gid: dict[str, list] = {}
    for c in cells:
        m = nbgrader_meta(c)
        if m.get("grade_id") and m.get("solution"):
            by_gid.setdefault(m["grade_id"], []).append(c)
    by_id = {c.get("id"): c for c in cells if c.get("id")}
    used: set[int] = set()
    out: dict[str, str] = {}
    for gid, rel_cell in wanted.items():
        got = by_gid.get(gid)
        if got:
            if len(got) > 1:
                notes.append(f"answer cell {gid} appears {len(got)} times: graded the first")
            out[gid] = got[0].source
            used.add(id(got[0]))
            continue
        c = by_id.get(rel_cell.get("id"))
        if c is not None and c.cell_type == "code" and not nbgrader_meta(c):
            out[gid] = c.source
            used.add(id(c))
            notes.append(f"answer cell {gid} lost its nbgrader metadata: matched by cell id")
            continue
        names = defined_functions(rel_cell.source)
        match = [c for c in cells if c.cell_type == "code" and id(c) not in used and not nbgrader_meta(c).get("grade")
                 and names and names <= defined_functions(c.source)]
        if match:
            out[gid] = match[-1].source
            used.add(id(match[-1]))
            notes.append(f"answer cell {gid} was retyped: matched by the functions it defines")
            continue
        notes.append(f"answer cell {gid} is missing: graded as unanswered")
        out[gid] = rel_cell.source
    released = graded_cells(release_nb)
    seen: dict[str, int] = {}
    for c in cells:
        g = nbgrader_meta(c).get("grade_id")
        if g in released and nbgrader_meta(c).get("grade"):
            seen[g] = seen.get(g, 0) + 1
            if _norm(c.source) != _norm(released[g].source):
                notes.append(f"test cell {g} was edited: the original was run")
    for g in released:
        if seen.get(g, 0) == 0:
            notes.append(f"test cell {g} was deleted or retyped: the original was run")
        elif seen[g] > 1:
            notes.append(f"test cell {g} appears {seen[g]} times: the original was run once")
    return out, notes


def _python(source: str) -> str:
    """Cell source as plain Python (IPython magics turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def free_and_defined(source: str) -> tuple[set[str], set[str]]:
    """(names a cell reads but does not define itself, names it defines at the top level).

    A cell that does not parse defines nothing and reads nothing we can know of.
    """
    try:
        top = symtable.symtable(_python(source), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set(), set()
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    free: set[str] = set()

    def walk(t, module: bool) -> None:
        for s in t.get_symbols():
            name = s.get_name()
            if not s.is_referenced():
                continue
            if module:
                if name not in defined:
                    free.add(name)
            elif s.is_global() and name not in defined:
                free.add(name)
        for child in t.get_children():
            walk(child, False)

    walk(top, True)
    return free, defined


def needed_cells(release_nb, answers: dict[str, str], exercise_names: set[str]) -> set[int]:
    """Indices of the release's code cells (other than answers and tests) that grading must
    run: every locked setup cell, and every cell that defines a name the answers, the
    exercises or another needed cell read (a fixpoint over free and defined names)."""
    answer_ids = set(answer_cells(release_nb))
    test_ids = set(graded_cells(release_nb))
    need = set(exercise_names)
    for src in answers.values():
        need |= free_and_defined(src)[0]
    others = {}
    chosen: set[int] = set()
    for i, c in enumerate(release_nb.cells):
        gid = nbgrader_meta(c).get("grade_id")
        if c.cell_type != "code" or gid in answer_ids or gid in test_ids:
            continue
        free, defined = free_and_defined(c.source)
        if nbgrader_meta(c).get("locked"):
            chosen.add(i)
            need |= free
        else:
            others[i] = (free, defined)
    changed = True
    while changed:
        changed = False
        for i, (free, defined) in others.items():
            if i not in chosen and defined & need:
                chosen.add(i)
                need |= free
                changed = True
    return chosen


def collect_source(exercise_id: str, payload: str) -> str:
    """The code of a collection cell: run the exercise's cases on the notebook's objects."""
    return (f'__import__("backproplab.exercises", fromlist=["collect"]).collect(\n'
            f'    {exercise_id!r}, {payload!r})')


def build(release_nb, answers: dict[str, str], tests: dict[str, str], needed: set[int]) -> nbformat.NotebookNode:
    """The notebook to execute: the release with the student's ``answers`` (by grade_id),
    each test cell's code replaced by ``tests[grade_id]`` (a collection cell, or the test's own
    code), the ``needed`` cells kept and every other code cell marked ``skipped``."""
    nb = nbformat.from_dict(release_nb)
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        m = nbgrader_meta(c)
        gid = m.get("grade_id")
        c.outputs = []
        c.execution_count = None
        if m.get("solution") and gid in answers and not m.get("grade"):
            c.source = answers[gid]
            c.metadata[ROLE_KEY] = "answer"
        elif m.get("grade") and not m.get("solution") and gid in tests:
            c.metadata["bpl_visible_source"] = c.source
            c.source = tests[gid]
            c.metadata[ROLE_KEY] = "test"
        elif i in needed:
            c.metadata[ROLE_KEY] = "setup" if m.get("locked") else "support"
        else:
            c.metadata[ROLE_KEY] = "skipped"
    return nb
