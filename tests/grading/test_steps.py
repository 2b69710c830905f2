"""Each step of the pipeline on its own, on small fixture notebooks, without the sandbox:
rebuild, scan, execute, judge, records, gradebook, feedback. (The end-to-end tests are in
test_pipeline.py and test_hostile.py.)"""

from __future__ import annotations

import json

import nbformat
import pytest
from backproplab import wire
from backproplab.exercises import MIME, get
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.build.authoring import filled_submission
from autograder.course import COURSE, SOLUTIONS, answer_cells, graded_cells, nbgrader_meta, notebook_path
from autograder.grading import feedback, judge
from autograder.grading.execute import Executor
from autograder.grading.notebook import (
    Unreadable,
    build,
    cell_role,
    collect_source,
    free_and_defined,
    needed_cells,
    read_handin,
    student_answers,
)
from autograder.grading.records import Flag, Job, PartScore, Record, Student, TestResult
from autograder.grading.sandbox import Limits
from autograder.grading.scan import scan
from tests.notebooks.harness import read_nb

AID = "01-chain-rule"


@pytest.fixture(scope="module")
def nbs():
    return read_nb(notebook_path(AID, SOLUTIONS)), read_nb(notebook_path(AID, COURSE))


# -- rebuild ------------------------------------------------------------------------------------
def test_read_handin_reasons(nbs):
    _, rel = nbs
    cands = {"02-x": {"ex02_mul_backward"}}
    for raw, why in [(b"", "empty file"), (b"\xff\xfe", "not UTF-8"), (b"{", "invalid notebook JSON"),
                     (b'{"cells": 3}', "no list of cells"), (b'{"cells": [], "nbformat": 3}', "unsupported"),
                     (json.dumps({"cells": [{"cell_type": "code", "source": "x", "metadata": {
                         "nbgrader": {"grade_id": "ex02_mul_backward"}}}], "nbformat": 4, "nbformat_minor": 5,
                         "metadata": {}}).encode(), "this is 02-x")]:
        with pytest.raises(Unreadable, match=why):
            read_handin(raw, AID, rel, cands)
    assert "starting at at" not in _reason(b'{"cells": ["unterminated', rel)


def _reason(raw, rel):
    try:
        read_handin(raw, AID, rel, {})
    except Unreadable as exc:
        return str(exc)
    return ""


def test_student_answers_match_by_id_then_name_and_note_edits(nbs):
    src, rel = nbs
    nb = filled_submission(rel, src)
    cells = answer_cells(nb)
    cells["ex01_chain"].metadata.pop("nbgrader")                      # lost its metadata: matched by cell id
    lj = cells["ex01_layer_jacobian"]
    nb.cells.remove(lj)
    nb.cells.append(new_code_cell(lj.source))                         # retyped: matched by its functions
    graded_cells(nb)["ex01_network_grad_tests"].source = "pass"       # an edited test cell
    answers, notes = student_answers(nb, rel)
    assert set(answers) == set(answer_cells(rel))
    assert "def layer_jacobian" in answers["ex01_layer_jacobian"]
    joined = " | ".join(notes)
    assert "ex01_chain lost its nbgrader metadata" in joined and "ex01_layer_jacobian was retyped" in joined
    assert "test cell ex01_network_grad_tests was edited" in joined


def test_free_and_defined_and_needed_cells(nbs):
    _, rel = nbs
    free, defined = free_and_defined("import numpy as np\ndef f(x):\n    return sigmoid(x) + np.sum(x) + c\nc = 1")
    assert free == {"sigmoid"} and defined == {"np", "f", "c"}
    answers = {g: c.source for g, c in answer_cells(rel).items()}
    need = needed_cells(rel, answers, {"chain_derivative"})
    roles = [("setup" if nbgrader_meta(rel.cells[i]).get("locked") else "support") for i in need]
    assert "setup" in roles
    # a demo cell that defines z is needed only when an answer reads z
    answers2 = dict(answers, ex01_chain="def chain_derivative(funcs, x):\n    return z")
    extra = needed_cells(rel, answers2, {"chain_derivative"}) - need
    assert extra and all("z" in free_and_defined(rel.cells[i].source)[1] for i in extra)


def test_build_runs_answers_and_collection_cells_only_where_needed(nbs):
    src, rel = nbs
    answers, _ = student_answers(filled_submission(rel, src), rel)
    tests = {g: collect_source(g.removesuffix("_tests"), "[]") for g in graded_cells(rel)}
    nb = build(rel, answers, tests, needed_cells(rel, answers, set()))
    roles = [cell_role(c) for c in nb.cells if c.cell_type == "code"]
    assert roles.count("test") == 4 and roles.count("answer") == 4 and "skipped" in roles
    for c in nb.cells:
        if cell_role(c) == "test":
            assert c.source.startswith('__import__("backproplab.exercises"') and "check(" in c.metadata[
                "bpl_visible_source"]


# -- scan ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("code,why", [
    ("import inspect", "imports inspect"),
    ("import gc\ndef f(): return gc.get_objects()", "imports gc"),
    ("import ctypes", "imports ctypes"),
    ("import sys\ndef f(): return sys._getframe(1).f_back.f_locals", "sys._getframe"),
    ("import sys\nsys.settrace(None)", "sys.settrace"),
    ("import sys\nsys.addaudithook(print)", "sys.addaudithook"),
    ("import builtins\nbuiltins.abs = max", "imports builtins"),
    ("def f(): return get_ipython()", "uses get_ipython"),
    ("import threading", "imports threading"),
    ("x = eval('1')", "uses eval"),
    ("np.allclose = lambda *a, **k: True", "changes numpy.allclose"),
    ("setattr(sp, 'diff', None)", "setattr changes sympy"),
    ("class S(sp.Symbol):\n    pass", "a subclass of sympy.Symbol"),
    ("def f(x):\n    return x.__class__", "the attribute __class__"),
    ("check = lambda *a: None", "rebinds check"),
    ("from backproplab.symbolic import backprop", "backproplab.symbolic.backprop"),
    ("import backproplab.exercises.nb01 as e", "the grading code"),
    ("from backproplab import layerwise\ndef f(*a): return layerwise.backprop(*a)", "backproplab.layerwise.backprop"),
    ("import backproplab.layerwise as L\ndef f(n): return getattr(L, n)", "by a computed name"),
])
def test_scan_flags_with_the_line(code, why):
    setup = ["import numpy as np\nimport sympy as sp\nfrom backproplab.exercises import check"]
    flags = scan({"ex05_backward": "# an answer\n" + code}, ["backproplab.layerwise.backprop"], setup)
    assert flags and any(why in f.message for f in flags), [str(f) for f in flags]
    assert all(f.kind == "tampering" and f.where == "ex05_backward" and f.line and f.line >= 2 for f in flags)


def test_scan_leaves_honest_answers_alone(nbs):
    src, _ = nbs
    from autograder.course import strip_solution_markers

    answers = {g: strip_solution_markers(c.source) for g, c in answer_cells(src).items()}
    answers["extra"] = "import math\nimport numpy as np\ndef f(x, n):\n    return getattr(np, 'sum')(x) + math.pi"
    setup = [c.source for c in src.cells if nbgrader_meta(c).get("locked")]
    assert scan(answers, ["backproplab.layerwise.backprop"], setup) == []


# -- execute ------------------------------------------------------------------------------------
def _tiny(cells):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _role(c, role):
    c.metadata["bpl_role"] = role
    return c


def test_executor_collects_payloads_snapshots_and_survives_a_crash(tmp_path):
    shown = {MIME: {"case": 0, "result": "1"}}
    nb = _tiny([
        _role(new_code_cell("from IPython.display import display, update_display\nh = display('before', display_id='d')"),
              "answer"),
        _role(new_code_cell(f"display({shown!r}, raw=True)\nupdate_display('LEAKED', display_id='d')\nprint('x')"),
              "test"),
        _role(new_code_cell("import os; os._exit(3)"), "test"),
        _role(new_code_cell(f"display({shown!r}, raw=True)"), "test"),
        new_code_cell("print('never run')"),
    ])
    ex = Executor(nb, limits=Limits(cell_timeout=20), scratch=str(tmp_path), sandbox=False, uid=0, cgroups=[],
                  socket_dir="")
    out = ex.run()
    assert ex.payloads == {1: [shown[MIME]], 3: [shown[MIME]]}
    assert all(MIME not in json.dumps(c.get("outputs", [])) for c in out.cells)
    assert "before" in json.dumps(ex.snapshot[0]) and "LEAKED" not in json.dumps(ex.snapshot[0])
    assert out.cells[2].outputs[-1].ename == "KernelDied" and "status 3" in out.cells[2].outputs[-1].evalue
    assert [e["kind"] for e in ex.events][:2] == ["KernelDied", "restart"]
    assert out.cells[4].get("outputs", []) == [] and out.cells[4].get("execution_count") is None


def test_executor_times_out_a_cell_and_goes_on(tmp_path):
    nb = _tiny([_role(new_code_cell("x = 1"), "answer"), _role(new_code_cell("while True: pass"), "test"),
                _role(new_code_cell("print(x)"), "test")])
    ex = Executor(nb, limits=Limits(cell_timeout=3), scratch=str(tmp_path), sandbox=False, uid=0, cgroups=[],
                  socket_dir="")
    out = ex.run()
    assert out.cells[1].outputs[-1].ename == "CellTimeout"
    assert out.cells[2].outputs[0].text.strip() == "1", "the answer cell was not replayed after the restart"


# -- judge --------------------------------------------------------------------------------------
def test_judge_counts_only_well_formed_results_for_cases_it_sent():
    ex = get("ex01_sigmoid_prime")
    cases = judge.draw(ex, seed=7)
    assert len(cases) > 2
    import sympy as sp

    a = sp.Symbol("a", real=True)
    good = {"ok": a * (1 - a)}
    pay = [{"case": 0, "result": wire.dumps(good)},
           {"case": 0, "result": wire.dumps({"ok": 1 - a})},          # a second answer for case 0: ignored
           {"case": 999, "result": wire.dumps(good)},                  # a case never sent: ignored
           {"case": 1, "result": "not json"},                          # junk: wrong
           "junk"]
    t = judge.judge_test("ex01_sigmoid_prime_tests", ex, cases, pay)
    byidx = {c["index"]: c for c in t.cases}
    assert byidx[0]["ok"] and not byidx[1]["ok"] and "could not be graded" in byidx[1]["message"]
    assert t.score == 0, "cases with no result must fail their part"
    assert any(c["kind"] == "missing_output" for c in t.cases)


def test_payload_carries_inputs_only():
    ex = get("ex01_layer_jacobian")
    cases = judge.draw(ex, seed=3)
    text = judge.payload(cases)
    assert [i for i, _ in wire.loads(text)] == list(range(len(cases)))
    assert "sigmoid" not in text and "jacobian" not in text.lower()


# -- records ------------------------------------------------------------------------------------
def test_record_round_trip(tmp_path):
    r = Record(Student("李", "李小龍", "li@example.org", "moodle"), AID, "k", status="graded", score=1.5,
               max_score=2, tests={"t": TestResult("t", 1.5, 2, "m", ["known"], [PartScore("p", 2, 1.5, "m")],
                                                   [{"index": 0}])},
               flags=[Flag("tampering", "ex01_chain", "imports inspect", 2, "import inspect")], seed=2**63 + 5)
    r.write(tmp_path)
    assert Record.read(tmp_path) == r
    assert r.counted_score(True) == 0.0 and r.counted_score(False) == 1.5
    assert Record.not_graded(Job(AID, r.student, "", "", "", "", "", 0, ""), "why").counted_score(True) is None


# -- feedback -----------------------------------------------------------------------------------
def test_feedback_notebook_keeps_only_what_came_before_the_tests(nbs):
    _, rel = nbs
    nb = nbformat.from_dict(rel)
    first_test = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade"))
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            c.metadata["bpl_role"] = "test" if nbgrader_meta(c).get("grade") else "answer"
            if nbgrader_meta(c).get("grade"):
                c.metadata["bpl_visible_source"] = c.source
                c.source = "collect(...)"
    setup_cell = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    snapshot = {setup_cell: [{"output_type": "display_data", "data": {"text/html": "<script>alert(1)</script><b>hi</b>",
                                                            "application/javascript": "alert(2)"}}],
                first_test + 1: [{"output_type": "stream", "name": "stdout", "text": "later"}]}
    snapshot = {i: v for i, v in snapshot.items() if nb.cells[i].cell_type == "code"}
    rec = Record(Student("s"), AID, "k", status="graded", score=0, max_score=10,
                 tests={g: TestResult(g, 0, float(nbgrader_meta(c)["points"]), "wrong", ["known"])
                        for g, c in graded_cells(rel).items()},
                 flags=[Flag("tampering", "ex01_chain", "imports inspect", 3, "import inspect")])
    fb = feedback.feedback_notebook(nb, snapshot, rec, tamper_zero=True)
    assert "flagged for review" in fb.cells[0].source and "import inspect" in fb.cells[0].source
    text = json.dumps(fb)
    assert "collect(...)" not in text and "application/javascript" not in text
    page = feedback.render(fb, rec, tamper_zero=True)
    assert "alert(1)" not in page and "<b>hi</b>" not in page
    assert "Exercise ex01_chain" in page and "../_mathjax/MathJax.js" in page


def test_leak_scan_is_not_fooled_by_spacing_or_case():
    hidden = ['check("ex01_chain", chain_derivative, hidden=True)']
    assert feedback.leaks("<p>CHECK ( 'ex01_chain' ,<br>chain_derivative , hidden = True )</p>", hidden)
    assert not feedback.leaks("<p>check('ex01_chain', chain_derivative)</p>", hidden)


def test_new_markdown_cells_render():
    nb = _tiny([new_markdown_cell("$x^2$")])
    rec = Record(Student("s"), AID, "k", status="graded", score=0, max_score=0)
    assert "x^2" in feedback.render(nb, rec, True)


def test_executor_caps_the_payload_a_cell_may_send(tmp_path, monkeypatch):
    from autograder.grading import execute

    monkeypatch.setattr(execute, "PAYLOADS_PER_CELL", 5)
    flood = f"from IPython.display import display\nfor i in range(50):\n    display({{{MIME!r}: {{'case': i}}}}, raw=True)"
    nb = _tiny([_role(new_code_cell(flood), "test")])
    ex = Executor(nb, limits=Limits(cell_timeout=20), scratch=str(tmp_path), sandbox=False, uid=0, cgroups=[],
                  socket_dir="")
    ex.run()
    assert len(ex.payloads[0]) == 5 and any(e["kind"] == "payload_cap" for e in ex.events)
