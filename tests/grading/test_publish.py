"""The student edition: course, lib, binder and a README, and not one secret line."""

from __future__ import annotations

import pytest

from autograder.build.publish import ENTRIES, PublishError, edition_leaks, publish
from autograder.build.release import secret_lines
from autograder.course import COURSE, HIDDEN_MARKERS, SOLUTION_MARKERS


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    dest = tmp_path_factory.mktemp("public")
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    publish(dest, check_sync=False)  # sync is test_release's job; here: what reaches the edition
    return dest


def test_only_the_student_tree(edition):
    assert sorted(p.name for p in edition.iterdir()) == sorted([*ENTRIES, ".git"])
    assert (edition / ".git" / "HEAD").exists(), "publish touched the target's own files"
    released = {p.name for p in COURSE.iterdir() if p.is_dir()}
    assert released <= {p.name for p in (edition / "course").iterdir() if p.is_dir()}
    assert not list(edition.rglob("*.egg-info")) and not list(edition.rglob("__pycache__"))


def test_no_solution_or_hidden_test_line_reaches_it(edition):
    assert edition_leaks(edition) == []
    texts = [p.read_text(errors="ignore") for p in edition.rglob("*") if p.is_file() and ".git" not in p.parts]
    for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
        assert not any(marker in t for t in texts), marker
    notebooks = [p.read_text() for p in (edition / "course").rglob("*.ipynb")]
    import json

    decoded = ["\n".join("".join(c["source"]) for c in json.loads(t)["cells"]) for t in notebooks]
    secrets = secret_lines()
    assert secrets, "no secret lines found: the check would prove nothing"
    for where, kind, line in secrets:
        assert not any(line in d for d in decoded), f"{kind} line of {where} published: {line!r}"


def test_a_planted_leak_is_refused(edition, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(edition, copy)
    line = next(s for s in secret_lines() if s[1] == "hidden test")[2]
    (copy / "lib" / "backproplab" / "planted.py").write_text(line + "\n")
    assert any("hidden test line" in p for p in edition_leaks(copy))


def test_refuses_to_write_into_the_repository():
    with pytest.raises(PublishError, match="refusing"):
        publish(COURSE.parent / "solutions", check_sync=False)
