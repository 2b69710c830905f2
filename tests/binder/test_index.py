"""The course index and the ways into it: it lists every notebook, and every link that opens
the course (the README's Binder links, `make lab`) lands on a notebook that exists."""

from __future__ import annotations

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


def test_make_lab_opens_the_index():
    """The README's lab command, for real: JupyterLab starts and its front page is the index notebook."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=REPO, text=True,
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
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
