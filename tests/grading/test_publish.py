"""The student edition: course, lib, binder and a README, and exactly what the check says it covers.

The check (``autograder.build.publish.edition_leaks``) and the README say the same thing: no
solution line, hidden-test line or nbgrader marker in ``course/``, ``binder/`` or the README;
no hidden-test line or marker in ``lib/``; and solution lines in ``lib/`` only inside the
reference routes that ``LIBRARY_ROUTES`` lists for their exercise, with the reason they ship.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil

import nbformat
import pytest

from autograder.build.publish import (
    COMMON_LINES,
    ENTRIES,
    LIBRARY_ROUTES,
    STUDENT_README,
    PublishError,
    edition_leaks,
    library_routes,
    publish,
)
from autograder.build.release import secret_lines
from autograder.course import (
    COURSE,
    HIDDEN_MARKERS,
    REPO,
    SOLUTION_MARKERS,
    SOLUTIONS,
    answer_cells,
    assignments,
    notebook_path,
)

pytestmark = pytest.mark.xdist_group("publish")


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    dest = tmp_path_factory.mktemp("public")
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    publish(dest, check_sync=False)  # sync is test_release's job; here: what reaches the edition
    return dest


@pytest.fixture(scope="module")
def secrets():
    out = secret_lines()
    assert out, "no secret lines found: the checks would prove nothing"
    return out


def _copy(edition, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(edition, copy, ignore=shutil.ignore_patterns(".git"))
    return copy


def _exercise(where: str) -> str:
    return where.split("/")[-1]


def test_only_the_student_tree(edition):
    assert sorted(p.name for p in edition.iterdir()) == sorted([*ENTRIES, ".git"])
    assert (edition / ".git" / "HEAD").exists(), "publish touched the target's own files"
    released = {p.name for p in COURSE.iterdir() if p.is_dir()}
    assert released <= {p.name for p in (edition / "course").iterdir() if p.is_dir()}
    assert not list(edition.rglob("*.egg-info")) and not list(edition.rglob("__pycache__"))


def test_no_solution_or_hidden_test_line_outside_lib(edition, secrets):
    assert edition_leaks(edition) == []
    texts = [p.read_text(errors="ignore") for p in edition.rglob("*") if p.is_file() and ".git" not in p.parts]
    for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
        assert not any(marker in t for t in texts), marker
    decoded = {p.parent.name: "\n".join("".join(c["source"]) for c in json.loads(p.read_text())["cells"])
               for p in (edition / "course").rglob("*.ipynb")}
    public = [p.read_text() for p in [edition / "README.md", *(edition / "binder").rglob("*")] if p.is_file()]
    for where, kind, line in secrets:
        own = decoded.get(where.split("/")[0], "")  # a generic line of one notebook is no leak in another
        assert line not in {ln.strip() for ln in own.splitlines()}, \
            f"{kind} line of {where} published in its notebook: {line!r}"
        assert not any(line in t.splitlines() for t in public), f"{kind} line of {where} in README/binder: {line!r}"


def test_lib_holds_solution_lines_only_in_the_listed_routes(edition, secrets):
    """What the library gives away, computed here independently of the check, is exactly what
    LIBRARY_ROUTES allows (plus COMMON_LINES), and no hidden-test line."""
    lib = {p.relative_to(edition).as_posix(): {ln.strip() for ln in p.read_text().splitlines()}
           for p in (edition / "lib").rglob("*.py")}
    found = [(rel, where, kind, line) for where, kind, line in secrets for rel, have in lib.items() if line in have]
    for rel, where, kind, line in found:
        if line in COMMON_LINES:
            continue
        assert kind == "solution", f"hidden-test line of {where} in {rel}: {line!r}"
        patterns = LIBRARY_ROUTES.get(rel, ((), ""))[0]
        assert any(fnmatch.fnmatchcase(_exercise(where), p) for p in patterns), \
            f"{rel} holds a solution line of {where} but is not listed for it: {line!r}"
    given = {(rel, where, line) for rel, where, kind, line in found if kind == "solution" and line not in COMMON_LINES}
    assert set(library_routes(edition)) == given
    # every listed route is in use: the list says what ships, not what once did
    assert {rel for rel, _, _ in given} == set(LIBRARY_ROUTES), "a LIBRARY_ROUTES entry holds no route any more"


def test_a_solution_line_in_an_unlisted_library_file_is_refused(edition, tmp_path, secrets):
    copy = _copy(edition, tmp_path)
    where, _, line = next(s for s in secrets if s[1] == "solution" and _exercise(s[0]) == "ex03_relative_error"
                          and s[2] not in COMMON_LINES)
    (copy / "lib" / "backproplab" / "plots.py").write_text((copy / "lib" / "backproplab" / "plots.py").read_text()
                                                          + f"\n# {line}\n    {line}\n")
    leaks = edition_leaks(copy)
    assert any(p.startswith("lib/backproplab/plots.py: solution line of " + where) for p in leaks), leaks


def test_a_listed_file_may_not_hold_another_exercises_route(edition, tmp_path, secrets):
    copy = _copy(edition, tmp_path)
    where, _, line = next(s for s in secrets if s[1] == "solution" and _exercise(s[0]).startswith("ex01_")
                          and s[2] not in COMMON_LINES)
    path = copy / "lib" / "backproplab" / "gradcheck.py"
    path.write_text(path.read_text() + f"\n{line}\n")
    assert any(p.startswith(f"lib/backproplab/gradcheck.py: solution line of {where}") for p in edition_leaks(copy))


def test_a_hidden_test_line_anywhere_in_lib_is_refused(edition, tmp_path, secrets):
    copy = _copy(edition, tmp_path)
    where, _, line = next(s for s in secrets if s[1] == "hidden test" and s[2] not in COMMON_LINES)
    for rel in LIBRARY_ROUTES:                    # even inside a listed route
        path = copy / rel
        path.write_text(path.read_text() + f"\n{line}\n")
        assert f"{rel}: hidden test line of {where}: {line!r}" in edition_leaks(copy)
        path.write_text((edition / rel).read_text())


def test_a_marker_anywhere_is_refused(edition, tmp_path):
    copy = _copy(edition, tmp_path)
    (copy / "lib" / "backproplab" / "optim.py").write_text((copy / "lib" / "backproplab" / "optim.py").read_text()
                                                           + "\n### BEGIN SOLUTION\n")
    assert any("optim.py: nbgrader marker" in p for p in edition_leaks(copy))


def test_the_allow_lists_are_current():
    """Every listed file exists and every pattern names an exercise of solutions/; every common line is a
    secret line the library really shares (else it should leave the list)."""
    exercises = {g for a in assignments(SOLUTIONS)
                 for g in answer_cells(nbformat.read(str(notebook_path(a, SOLUTIONS)), as_version=4))}
    for rel, (patterns, why) in LIBRARY_ROUTES.items():
        assert (REPO / rel).is_file(), rel
        assert len(why) > 40, f"{rel}: say why it ships"
        for p in patterns:
            assert fnmatch.filter(exercises, p), f"{rel}: {p} names no exercise of solutions/"
    secret = {line for _, _, line in secret_lines()}
    lib = "\n".join(p.read_text() for p in (REPO / "lib").rglob("*.py"))
    for line in COMMON_LINES:
        assert line in secret, f"{line!r} is no longer a secret line: drop it from COMMON_LINES"
        assert re.search(rf"^\s*{re.escape(line)}\s*$", lib, re.MULTILINE), f"{line!r} is not in lib/ any more"


def publishing_section(readme: str) -> str:
    """The README's "Publishing the student edition" section, whitespace-normalised."""
    section = readme[readme.index("### Publishing the student edition"):]
    section = section[:section.index("\n## ")] if "\n## " in section else section
    return " ".join(section.split())


def check_readme(readme: str) -> None:
    section = publishing_section(readme)
    assert "refuses if any solution line, hidden-test line or nbgrader marker would reach it" not in section, \
        "the README still claims that no solution line reaches the edition"
    for rel in LIBRARY_ROUTES:
        assert f"`{rel.removeprefix('lib/')}`" in section or f"`{rel}`" in section, f"the README does not name {rel}"
        for pattern in LIBRARY_ROUTES[rel][0]:
            assert f"`{pattern}`" in section, f"the README does not say {rel} holds {pattern}"
    for words in ("hidden-test line or nbgrader marker in `lib/`", "`LIBRARY_ROUTES`", "`COMMON_LINES`"):
        assert words in section, f"the README does not say: {words}"


def test_the_readme_says_what_the_check_does():
    """The README's publishing section states the coverage the check implements, file by file."""
    check_readme((REPO / "README.md").read_text())


def test_the_student_readme_is_honest_about_the_library():
    assert "reference implementations" in STUDENT_README
    assert "course/00-index/00-index.ipynb" in STUDENT_README


def test_refuses_to_write_into_the_repository():
    with pytest.raises(PublishError, match="refusing"):
        publish(COURSE.parent / "solutions", check_sync=False)
