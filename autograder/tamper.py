"""Tamper resistance: what is graded is rebuilt from the source, and the kernel is checked.

1. **Rebuild.** The notebook that is executed is not the student's file. It is the
   instructor's source notebook (narrative, setup, demos, test cells *with* hidden tests),
   with only the student's *answer cells* (nbgrader ``solution`` cells, matched by
   ``grade_id``, then by cell id, then by the function names they define) copied in.
   Edited, deleted, duplicated or retyped test cells therefore do not matter: the pristine
   ones run. Differences are noted (:func:`build`'s notes) for the class report.
2. **Guard cells.** A trusted prelude, run before any student code, imports the library
   modules and snapshots everything a test relies on: the public functions of numpy (and
   ``numpy.testing``), sympy, every ``backproplab`` module (identities and ``__code__``),
   every builtin, ``sys.modules`` entries, IPython's exception hooks, ``sys.excepthook``,
   ``sys.stdout``/``stderr``, tracing. Before each test cell a guard cell compares the kernel
   with the snapshot, **restores** whatever was replaced and reports it, then re-runs the
   setup cells so names the student rebound in the notebook's namespace are the
   instructor's again. A last guard runs after the last test. So a patch cannot earn points
   (the tests run against the originals), and it is reported.
3. **Out-of-band verdicts.** Each guard prints one JSON line carrying a random nonce that
   appears nowhere before that cell runs. The grader (outside the sandbox) requires every
   guard's line; a missing or garbled line (outputs suppressed, guard deleted from
   ``sys.modules``) is itself reported as tampering.

In-process checks can, in principle, be defeated by code written against this very file;
the sandbox bounds what such code can reach to that one submission's own score, and any
guard it silences is reported.
"""

from __future__ import annotations

import json
import re
import secrets
import textwrap

import nbformat

from .course import answer_cells, graded_cells, nbgrader_meta
from .execute import ROLE_KEY, cell_role

__all__ = ["GUARD_TAG", "assignment_of", "build", "defined_functions", "hidden_lines", "read_guards"]

GUARD_TAG = "BPL-GUARD "

PRELUDE = r'''
def _bpl_install():
    import builtins, importlib, json, sys, types
    ip = get_ipython()
    names = ["numpy", "numpy.testing", "numpy.linalg", "sympy", "backproplab", "backproplab.grading",
             "backproplab.diagnose", "backproplab._guard", "backproplab.gradcheck", "backproplab.activations",
             "backproplab.layerwise", "backproplab.matrix", "backproplab.symbolic"]
    mods = {}
    for n in names:
        try:
            mods[n] = importlib.import_module(n)
        except Exception:
            pass
    snap = {n: dict(vars(m)) for n, m in mods.items()}
    codes = {(n, k): v.__code__ for n, m in mods.items() if n.startswith("backproplab")
             for k, v in vars(m).items() if isinstance(v, types.FunctionType)}
    bsnap = dict(vars(builtins))
    cls = type(ip)
    hooks = {k: getattr(cls, k, None) for k in ("showtraceback", "run_cell", "run_code", "run_ast_nodes",
                                               "_showtraceback", "showsyntaxerror", "run_cell_async")}
    sysvals = {k: getattr(sys, k) for k in ("stdout", "stderr", "displayhook")}
    volatile = {"input", "raw_input", "getpass"}  # ipykernel swaps these per request
    out = sys.stdout
    grading = mods.get("backproplab.grading")
    state = {"log": 0}

    def check(label, nonce):
        problems = []
        for n, m in mods.items():
            if sys.modules.get(n) is not m:
                problems.append(f"sys.modules[{n!r}] was replaced")
                sys.modules[n] = m
            d = vars(m)
            for k, v in snap[n].items():
                if k.startswith("__") or not (callable(v) or isinstance(v, types.ModuleType)):
                    continue
                if d.get(k, None) is not v:
                    problems.append(f"{n}.{k} was replaced")
                    d[k] = v
                if (n, k) in codes and getattr(v, "__code__", None) is not codes[(n, k)]:
                    problems.append(f"the code of {n}.{k} was replaced")
                    v.__code__ = codes[(n, k)]
        b = vars(builtins)
        for k, v in bsnap.items():
            if k not in volatile and b.get(k, None) is not v:
                problems.append(f"builtins.{k} was replaced")
                b[k] = v
        for k, v in hooks.items():
            if getattr(cls, k, None) is not v:
                problems.append(f"IPython's {k} was replaced")
                setattr(cls, k, v)
            inst = vars(ip).get(k)
            if inst is not None and getattr(inst, "__func__", None) is not v:
                problems.append(f"IPython's {k} was overridden on the shell")
                delattr(ip, k)
        if ip.custom_exceptions:
            problems.append("an IPython custom exception handler was installed")
            ip.set_custom_exc((), None)
        for k, v in sysvals.items():
            if getattr(sys, k) is not v:
                problems.append(f"sys.{k} was replaced")
                setattr(sys, k, v)
        if sys.gettrace() is not None or sys.getprofile() is not None:
            problems.append("a trace or profile function was installed")
            sys.settrace(None)
            sys.setprofile(None)
        diags = []
        if grading is not None:
            log = list(grading._LOG)
            diags = [list(x) for x in log[state["log"]:]]
            state["log"] = len(log)
        report = {"guard": nonce, "label": label, "problems": problems, "diagnoses": diags[-5:]}
        out.write("\nBPL-GUARD " + json.dumps(report) + "\n")
        out.flush()

    mod = types.ModuleType("_bpl_guard")
    mod.check = check
    sys.modules["_bpl_guard"] = mod


_bpl_install()
del _bpl_install
'''


def _guard_source(label: str, nonce: str, setup: str) -> str:
    call = f'__import__("sys").modules["_bpl_guard"].check({label!r}, {nonce!r})'
    return call + ("\n" + setup if setup else "")


def _code_cell(source: str, role: str, cid: str) -> nbformat.NotebookNode:
    c = nbformat.v4.new_code_cell(source)
    c.metadata[ROLE_KEY] = role
    c["id"] = cid
    return c


_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def defined_functions(source: str) -> set[str]:
    return set(_DEF.findall(source))


def _norm(s: str) -> str:
    return "\n".join(line.rstrip() for line in s.strip().splitlines())


def hidden_lines(source_nb) -> list[str]:
    """The lines only the hidden tests of a source notebook hold (stripped, non-trivial):
    a line that also appears outside the hidden blocks is public anyway."""
    hidden, public = [], set()
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            s = line.strip()
            if s == "### BEGIN HIDDEN TESTS":
                inside = True
            elif s == "### END HIDDEN TESTS":
                inside = False
            elif inside:
                if len(s) >= 8 and re.search(r"[A-Za-z0-9]", s):
                    hidden.append(s)
            else:
                public.add(s)
    return [h for h in dict.fromkeys(hidden) if h not in public]


def assignment_of(nb, candidates: dict[str, set[str]]) -> str | None:
    """The assignment whose answer grade_ids a notebook holds most of (None: none)."""
    ids = {nbgrader_meta(c).get("grade_id") for c in nb.get("cells", []) if isinstance(c, dict)}
    best, score = None, 0
    for aid, gids in candidates.items():
        n = len(ids & gids)
        if n > score:
            best, score = aid, n
    return best


def _student_answers(student_nb, source_nb, release_nb) -> tuple[dict[str, str], list[str]]:
    """grade_id -> the student's code for each answer cell of the source; and notes."""
    notes = []
    wanted = answer_cells(source_nb)
    release_answers = answer_cells(release_nb)
    cells = [c for c in student_nb.cells]
    by_gid: dict[str, list] = {}
    for c in cells:
        g = nbgrader_meta(c).get("grade_id")
        if g and nbgrader_meta(c).get("solution"):
            by_gid.setdefault(g, []).append(c)
    by_id = {c.get("id"): c for c in cells if c.get("id")}
    used = set()
    out = {}
    for gid, src_cell in wanted.items():
        got = by_gid.get(gid)
        if got:
            if len(got) > 1:
                notes.append(f"answer cell {gid} appears {len(got)} times: graded the first")
            out[gid] = got[0].source
            used.add(id(got[0]))
            continue
        c = by_id.get(src_cell.get("id"))
        if c is not None and c.cell_type == "code" and not nbgrader_meta(c):
            out[gid] = c.source
            used.add(id(c))
            notes.append(f"answer cell {gid} lost its nbgrader metadata: matched by cell id")
            continue
        names = defined_functions(release_answers.get(gid, src_cell).source)
        match = [c for c in cells if c.cell_type == "code" and id(c) not in used and not nbgrader_meta(c).get("grade")
                 and names and names <= defined_functions(c.source)]
        if match:
            out[gid] = match[-1].source
            used.add(id(match[-1]))
            notes.append(f"answer cell {gid} was retyped: matched by the functions it defines")
            continue
        notes.append(f"answer cell {gid} is missing: graded as unanswered")
        out[gid] = release_answers[gid].source if gid in release_answers else "raise NotImplementedError()"
    return out, notes


def _test_notes(student_nb, release_nb) -> list[str]:
    notes = []
    released = graded_cells(release_nb)
    seen: dict[str, int] = {}
    for c in student_nb.cells:
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
    return notes


def build(source_nb, release_nb, student_nb) -> tuple[nbformat.NotebookNode, list[str], list[str]]:
    """The notebook to grade: ``(notebook, notes, guard nonces in order)``.

    ``source_nb`` holds solutions and hidden tests (the trusted structure), ``release_nb``
    the stubs, ``student_nb`` the hand-in; only its answer cells are used.
    """
    answers, notes = _student_answers(student_nb, source_nb, release_nb)
    notes += _test_notes(student_nb, release_nb)
    setup_sources = [c.source for c in source_nb.cells if c.cell_type == "code"
                     and nbgrader_meta(c).get("locked") and not nbgrader_meta(c).get("grade")
                     and not nbgrader_meta(c).get("solution")]
    setup = "\n".join(setup_sources)
    nb = nbformat.from_dict(source_nb)
    nonces: list[str] = []
    cells = [_code_cell(textwrap.dedent(PRELUDE).strip(), "prelude", "bpl-prelude")]
    for c in nb.cells:
        m = nbgrader_meta(c)
        if m.get("solution") and m.get("grade_id") in answers:
            c.source = answers[m["grade_id"]]
            c.outputs = [] if c.cell_type == "code" else c.get("outputs")
            c.metadata[ROLE_KEY] = "answer"
        elif c.cell_type == "code" and m.get("grade") and not m.get("solution"):
            nonce = secrets.token_hex(8)
            nonces.append(nonce)
            cells.append(_code_cell(_guard_source(f"before {m['grade_id']}", nonce, setup), "guard",
                                    f"bpl-guard-{len(nonces)}"))
            c.metadata[ROLE_KEY] = "test"
        elif c.cell_type == "code" and m.get("locked"):
            c.metadata[ROLE_KEY] = "setup"
        if c.cell_type == "code" and "outputs" in c:
            c.outputs = []
            c.execution_count = None
        cells.append(c)
    nonce = secrets.token_hex(8)
    nonces.append(nonce)
    cells.append(_code_cell(_guard_source("after the last test", nonce, ""), "guard", f"bpl-guard-{len(nonces)}"))
    nb.cells = cells
    return nb, notes, nonces


def read_guards(executed_nb, nonces: list[str]) -> tuple[list[str], dict[str, list[list[str]]]]:
    """Tampering problems and, per test cell grade_id, the diagnoses its test logged.

    Verifies every guard reported exactly once with its own nonce.
    """
    problems: list[str] = []
    diagnoses: dict[str, list[list[str]]] = {}
    guards = [c for c in executed_nb.cells if cell_role(c) == "guard"]
    prev_test = None
    order = []
    for c in executed_nb.cells:
        if cell_role(c) == "guard":
            order.append(("guard", c, prev_test))
        elif cell_role(c) == "test":
            prev_test = nbgrader_meta(c).get("grade_id")
    if len(guards) != len(nonces):
        problems.append("guard cells are missing from the graded notebook")
    for (_, cell, after_test), nonce in zip(order, nonces):
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        reports = []
        for line in text.splitlines():
            if line.startswith(GUARD_TAG):
                try:
                    reports.append(json.loads(line[len(GUARD_TAG):]))
                except ValueError:
                    pass
        mine = [r for r in reports if r.get("guard") == nonce]
        failed = any(o.get("output_type") == "error" and o.get("ename") in ("KernelDied", "CellTimeout", "NotRun")
                     for o in cell.get("outputs", []))
        if failed:
            continue  # the kernel died around it: reported as a crash, not as tampering
        if len(mine) != 1 or len(reports) != 1:
            problems.append(f"the integrity check {'after ' + after_test if after_test else 'before the tests'} "
                            "did not report (its output was suppressed or forged)")
            continue
        r = mine[0]
        where = f"after {after_test}" if after_test else "before the first test"
        problems += [f"{p} ({where})" for p in r.get("problems", [])]
        if after_test:
            diagnoses[after_test] = [list(map(str, d)) for d in r.get("diagnoses", []) if len(d) == 2]
    return problems, diagnoses
