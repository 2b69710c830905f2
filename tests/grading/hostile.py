"""A class of hostile hand-ins for the first assignment, as one LMS export (a zip).

Every case is one student. ``EXPECT`` says what the pipeline must make of each; the
tests in ``test_hostile.py`` check it after grading them all in one run.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import nbformat
from autograder.nbtools import GradingRoot, exercise_ids, filled_submission, load_variants

from autograder.course import REPO, answer_cells, graded_cells


def stub(release_nb, gid: str, body: str, head: str = "") -> str:
    """The release's answer cell with its ``raise NotImplementedError()`` replaced by ``body``
    (indented to the function body) and ``head`` put in front of the cell."""
    src = answer_cells(release_nb)[gid].source
    line = next(ln for ln in src.splitlines() if "raise NotImplementedError()" in ln)
    indent = line[: len(line) - len(line.lstrip())]
    body = "\n".join(indent + b if b.strip() else b for b in body.strip("\n").splitlines())
    return (head + "\n" if head else "") + src.replace(line, body, 1)


def wrong_answers(aid: str, exs: list[str], release_nb) -> dict[str, str]:
    """One wrong variant for each of the first two exercises (the release stub if none)."""
    wrong, _ = load_variants(aid)
    out = {}
    for ex in exs[:2]:
        names = sorted(wrong.get(ex, {}))
        out[ex] = wrong[ex][names[0]] if names else answer_cells(release_nb)[ex].source
    return out


def build(root: GradingRoot, aid: str, dest: Path, *, port: int, canary: Path, out_dir: Path) -> dict[str, str]:
    """Write the hostile export to ``dest``; returns {student: case description}."""
    src, rel = root.source_nb(aid), root.release_nb(aid)
    exs = exercise_ids(src)
    ex0 = exs[0]
    bad = wrong_answers(aid, exs, rel)

    def nb_bytes(replace=None, edit=None) -> bytes:
        nb = filled_submission(rel, src, replace or {})
        if edit:
            edit(nb)
        return nbformat.writes(nb).encode()

    sol_path = REPO / "solutions" / aid / f"{aid}.ipynb"
    gradebook = out_dir / "gradebook.db"
    files: list[tuple[str, bytes, tuple]] = []
    t = (2025, 3, 1, 12, 0, 0)

    def add(student, data, when=t, name=None):
        files.append((name or f"submissions/{student}_77_{aid}.ipynb", data, when))

    cases = {}
    cases["good"] = "the solution: full marks (control)"
    add("good", nb_bytes())
    cases["wrong"] = "two common mistakes (control for the tampering cases)"
    add("wrong", nb_bytes(bad))
    cases["loop"] = "an infinite loop in an answer"
    add("loop", nb_bytes({ex0: stub(rel, ex0, "while True:\n    pass")}))
    cases["membomb"] = "a memory bomb"
    add("membomb", nb_bytes({ex0: stub(rel, ex0, "hog = []\nwhile True:\n    hog.append(bytearray(50_000_000))")}))
    cases["forkbomb"] = "a fork bomb"
    add("forkbomb", nb_bytes({ex0: stub(rel, ex0, "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
                                        head="import os")}))
    cases["osexit"] = "os._exit in an answer"
    add("osexit", nb_bytes({ex0: stub(rel, ex0, "os._exit(0)", head="import os")}))
    cases["sysexit"] = "sys.exit in an answer"
    add("sysexit", nb_bytes({ex0: stub(rel, ex0, "sys.exit(1)", head="import sys")}))
    cases["segfault"] = "a kernel crash (segfault through ctypes)"
    add("segfault", nb_bytes({ex0: stub(rel, ex0, "ctypes.string_at(0)", head="import ctypes")}))
    cases["badjson"] = "invalid JSON"
    good = nb_bytes()
    add("badjson", good[: len(good) // 3])
    cases["empty"] = "an empty file"
    add("empty", b"")
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def unrelated():\n    return 1")])
    other.cells[0].metadata["nbgrader"] = {"grade": False, "grade_id": "ex99_other", "locked": False,
                                           "schema_version": 3, "solution": True, "task": False}
    cases["otherassignment"] = "a notebook of another assignment"
    add("otherassignment", nbformat.writes(other).encode())
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

    cases["deletedtest"] = "wrong answers, a test cell deleted"
    add("deletedtest", nb_bytes(bad, delete_test))
    cases["duplicatedtest"] = "wrong answers, a test cell duplicated"
    add("duplicatedtest", nb_bytes(bad, duplicate_test))
    cases["editedtest"] = "wrong answers, every test cell edited to pass"
    add("editedtest", nb_bytes(bad, edit_tests))
    cases["retypedtest"] = "wrong answers, a test cell retyped without its metadata"
    add("retypedtest", nb_bytes(bad, retype_test))
    cases["bigoutput"] = "a 100 MB output (otherwise correct)"
    sol0 = filled_submission(rel, src)
    big = answer_cells(sol0)[ex0].source + "\nprint('x' * 100_000_000)\n"
    add("bigoutput", nb_bytes({ex0: big}))
    cases["patchnumpy"] = "wrong answers + numpy.allclose/isclose/testing patched"
    add("patchnumpy", nb_bytes({**bad, ex0: bad[ex0] + "\nimport numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                "np.isclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"}))
    cases["patchhelpers"] = "wrong answers + grading helpers patched (module and notebook names)"
    patch = ("\nimport backproplab.grading as _g\nfor _n in list(_g.__all__):\n"
             "    if _n.startswith('check'):\n        setattr(_g, _n, lambda *a, **k: None)\n"
             "        globals()[_n] = lambda *a, **k: None\n"
             "_g.check_expr.__code__ = (lambda *a, **k: None).__code__\n")
    cases["patchhelpers"] = "wrong answers + grading helpers replaced, and a helper's __code__ swapped"
    add("patchhelpers", nb_bytes({**bad, ex0: bad[ex0] + patch.replace("_g.check_expr.__code__", "_g.quietly.__code__")}))
    cases["patchbuiltins"] = "wrong answers + builtins patched (abs, isinstance) and IPython's error display"
    add("patchbuiltins", nb_bytes({**bad, ex0: bad[ex0] + "\nimport builtins\nbuiltins.abs = lambda x: 0\n"
                                   "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"}))
    cases["readsecrets"] = "copies the solutions and the gradebook if it can"
    steal = (f"import json, shutil\n"
             f"def _steal():\n"
             f"    for c in json.load(open({str(sol_path)!r}))['cells']:\n"
             f"        if c.get('metadata', {{}}).get('nbgrader', {{}}).get('solution'):\n"
             f"            exec(''.join(c['source']), globals())\n"
             f"try:\n    _steal()\nexcept Exception as exc:\n    print('no solutions:', type(exc).__name__)\n"
             f"try:\n    shutil.copy({str(gradebook)!r}, 'stolen.db')\nexcept Exception as exc:\n"
             f"    print('no gradebook:', type(exc).__name__)\n")
    add("readsecrets", nb_bytes({g: answer_cells(rel)[g].source for g in exs} | {ex0: steal}))
    cases["writeoutside"] = "writes outside its folder (repository, /tmp, the canary folder, the gradebook)"
    targets = [canary / "planted.txt", canary / "existing.txt", REPO / "PWNED-by-student", Path("/tmp/bpl-pwned"),
               gradebook]
    write = "import os\nfor _p in {!r}:\n    try:\n        open(_p, 'a').write('pwned')\n    except OSError as exc:\n" \
            "        print('cannot write', _p, type(exc).__name__)\ntry:\n    os.remove({!r})\nexcept OSError:\n    pass\n".format(
                [str(p) for p in targets], str(canary / "existing.txt"))
    add("writeoutside", nb_bytes({ex0: answer_cells(sol0)[ex0].source + "\n" + write}))
    cases["network"] = "opens a connection to a listening socket on 127.0.0.1"
    net = (f"import socket\ntry:\n    _s = socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
           "    _s.sendall(b'leak')\n    print('connected')\nexcept OSError as exc:\n    print('no network:', exc)\n")
    add("network", nb_bytes({ex0: answer_cells(sol0)[ex0].source + "\n" + net}))
    cases["zipslip"] = "a zip entry with ../ in its path"
    add("zipslip", nb_bytes(), name=f"../../zipslip_77_{aid}.ipynb")
    cases["twice"] = "handed in twice: a wrong one first, the solution later"
    add("twice", nb_bytes(bad), when=(2025, 3, 1, 10, 0, 0))
    add("twice", nb_bytes(), when=(2025, 3, 1, 11, 0, 0), name=f"submissions/twice_77_{aid}-1.ipynb")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in files:
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data, compress_type=zipfile.ZIP_DEFLATED)
    dest.write_bytes(buf.getvalue())
    return cases
