"""The course index and the ways into it: it lists every notebook, and every link that opens
the course (the README's Binder links, `make lab`) lands on a notebook that exists. `make lab`
works on a git-ignored copy of course/, made once and never overwritten."""

from __future__ import annotations

import filecmp
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import nbformat

from autograder.build.index import INDEX_ID, INDEX_URLPATH, build_index, is_stale
from autograder.course import COURSE, REPO, graded_assignments, graded_cells, notebook_path

LINK = re.compile(r"\]\(([^)\s]+\.ipynb)\)")


def _index_links() -> list[str]:
    nb = nbformat.read(str(notebook_path(INDEX_ID, COURSE)), as_version=4)
    return [m for c in nb.cells if c.cell_type == "markdown" for m in LINK.findall(c.source)]


def urlpaths(text: str) -> list[str]:
    """The ``urlpath=`` values of the Binder links in a text, decoded."""
    return [urllib.parse.unquote(m) for m in re.findall(r"[?&]urlpath=([^)\s&\"'>]+)", text)]


def test_index_is_up_to_date_with_the_notebooks():
    assert not is_stale(), "solutions/00-index is stale: run `python -m autograder.build.index`"


def test_index_links_every_notebook_and_every_link_opens_one():
    links = _index_links()
    here = COURSE / INDEX_ID
    for link in links:
        assert (here / link).resolve().is_file(), f"the index links {link}, which is not in course/"
    linked = {link.split("/")[-2] for link in links}
    missing = set(graded_assignments()) - linked
    assert not missing, f"the index does not list {sorted(missing)}: run `python -m autograder.build.index`"


def test_index_has_goals_for_every_notebook_and_no_exercise():
    nb = build_index()
    text = "\n".join(c.source for c in nb.cells)
    assert text.count("You will be able to") >= len(graded_assignments())
    assert not graded_cells(nb), "the index is front matter: no graded cells"
    assert INDEX_ID not in graded_assignments()


def test_index_urlpath_is_the_released_index():
    assert INDEX_URLPATH.startswith("lab/tree/")
    assert (REPO / INDEX_URLPATH.removeprefix("lab/tree/")).is_file()


def test_readme_binder_links_open_existing_notebooks():
    readme = REPO / "README.md"
    paths = urlpaths(readme.read_text()) if readme.exists() else []
    for p in paths:
        assert p.startswith("lab/tree/"), f"README: urlpath={p} does not open JupyterLab"
        target = REPO / p.removeprefix("lab/tree/")
        assert target.is_file(), f"README: Binder link urlpath={p} opens nothing (no {target.relative_to(REPO)})"


def _make(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, text=True, capture_output=True,
                          check=True, **kw)


def _course_files() -> list[str]:
    return sorted(p.relative_to(COURSE).as_posix() for p in COURSE.rglob("*")
                  if p.is_file() and ".ipynb_checkpoints" not in p.parts)


def test_the_work_copy_is_git_ignored():
    """`make lab`'s copy (the Makefile's default WORK=mywork) is never committed, nor pulled over."""
    work = re.search(r"^WORK \?= (\S+)", (REPO / "Makefile").read_text(), re.MULTILINE).group(1)
    probe = f"{work}/course/{INDEX_ID}/{INDEX_ID}.ipynb"
    out = subprocess.run(["git", "check-ignore", "--no-index", "-q", probe], cwd=REPO, check=False)
    assert out.returncode == 0, f"{probe} is not git-ignored: add /{work}/ to .gitignore"


def test_the_work_copy_is_made_once_and_never_overwritten(tmp_path):
    """First run: a copy of every file of course/. Later runs: what the copy lacks is copied in (a
    notebook new in the course, or one the student deleted to start afresh); nothing there is touched."""
    work = tmp_path / "work"
    _make("work-copy", f"WORK={work}")
    files = _course_files()
    assert files and sorted(p.relative_to(work / "course").as_posix() for p in (work / "course").rglob("*")
                            if p.is_file()) == files
    assert all(filecmp.cmp(COURSE / f, work / "course" / f, shallow=False) for f in files)

    aid = graded_assignments()[0]
    answered = notebook_path(aid, work / "course")
    answered.write_text(answered.read_text().replace("raise NotImplementedError()", "return 42"))
    mine = work / "course" / aid / "my-notes.ipynb"
    mine.write_text("{}")
    gone = notebook_path(INDEX_ID, work / "course")
    gone.unlink()
    before = answered.read_text()
    out = _make("work-copy", f"WORK={work}").stdout
    assert answered.read_text() == before, "make lab overwrote the student's answers"
    assert mine.read_text() == "{}"
    assert filecmp.cmp(notebook_path(INDEX_ID, COURSE), gone, shallow=False), "a missing notebook was not copied in"
    assert f"{INDEX_ID}.ipynb" in out and f"{aid}.ipynb" not in out


def test_make_lab_opens_the_index(tmp_path):
    """The README's lab command, for real: JupyterLab starts on the student's copy, and its front page is
    the copy's index notebook (at the same address as on Binder)."""
    work = tmp_path / "work"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}", f"WORK={work}"], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "BROWSER": "true"})
    try:
        token, deadline = None, time.monotonic() + 240  # a first `make lab` also sets up the environment
        while token is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            m = re.search(rf"127\.0\.0\.1:{port}/\S*token=([0-9a-f]+)", line)
            token = m.group(1) if m else None
        assert token, "make lab did not start JupyterLab"

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        location = None
        for _ in range(60):  # the URL is printed a moment before the server accepts connections
            try:
                opener.open(f"http://127.0.0.1:{port}/?token={token}", timeout=30)
                location = ""
            except urllib.error.HTTPError as exc:
                location = exc.headers.get("Location", "")
            except urllib.error.URLError:
                time.sleep(0.5)
                continue
            break
        assert urllib.parse.urlparse(location).path == "/" + INDEX_URLPATH, f"make lab's front page is {location!r}"
        # it serves the copy: the index is there, the repository (its tracked course/, solutions/) is not
        index = INDEX_URLPATH.removeprefix("lab/tree/")
        assert (work / index).is_file(), f"make lab made no copy {work / index}"

        def status(path: str) -> int:
            try:
                return opener.open(f"http://127.0.0.1:{port}/api/contents/{path}?content=0&token={token}",
                                   timeout=30).status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert status(index) == 200
        assert status("solutions") == 404 and status("Makefile") == 404, "make lab serves the repository, not the copy"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
