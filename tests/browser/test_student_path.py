"""A student's path through the course, in Debian's chromium, against JupyterLab started from
the Binder environment (tests/binder/env.py) in its home folder, as on Binder.

Each step leaves a screenshot in tests/artifacts/browser/ (git-ignored): look at them;
validate-dialog.png is Validate's dialog for a wrong answer. Every wait is on JupyterLab's state
(tests/browser/lab.py), so the tests hold on a busy machine.
"""

from __future__ import annotations

import json
import re
import runpy
import time
import urllib.request

import nbformat
import pytest

from autograder.build.authoring import filled_submission
from autograder.build.index import INDEX_URLPATH
from autograder.course import (
    COURSE,
    REPO,
    SOLUTIONS,
    answer_cells,
    graded_assignments,
    notebook_path,
    strip_solution_markers,
)
from tests.binder.test_index import urlpaths
from tests.browser.lab import (
    HTTP_TIMEOUT_S,
    close_dialog,
    close_palette,
    current_notebook,
    execution_counts,
    find_cell,
    frames,
    menu,
    open_notebook,
    palette_search,
    press_validate,
    run_and_wait,
    type_into_cell,
    wait_notebook_ready,
    wait_settled,
)
from tests.notebooks.harness import read_nb

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("binder")]

VARIANTS = REPO / "tests" / "notebooks" / "variants"
INSTRUCTOR = re.compile(r"formgrader|assignment list|course list|create assignment|nbgrader", re.IGNORECASE)
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                      "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:menu"}
RELEASED = [a for a in graded_assignments() if notebook_path(a, COURSE).exists()]
NBGRADER = re.search(r"^nbgrader==(\S+)", (REPO / "binder" / "requirements.txt").read_text(), re.MULTILINE).group(1)


def _urlpath(aid: str) -> str:
    return f"lab/tree/course/{aid}/{aid}.ipynb"


def _binder_urlpaths() -> list[str]:
    """The index, every released notebook, and every README Binder link that opens a notebook."""
    paths = [INDEX_URLPATH] + [_urlpath(a) for a in RELEASED]
    readme = REPO / "README.md"
    if readme.exists():
        paths += [p for p in urlpaths(readme.read_text()) if (REPO / p.removeprefix("lab/tree/")).is_file()]
    return list(dict.fromkeys(paths))


def _assert_nothing_in_the_way(page, lab) -> None:
    """No dialog and no toast (news, update, error) over the page, once JupyterLab has shown all it
    shows by itself; and the settings that keep the news prompt and the update check away hold."""
    req = urllib.request.Request(f"{lab.base}/lab/api/settings/@jupyterlab/apputils-extension:notification",
                                 headers={"Authorization": f"token {lab.token}"})
    with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
        plugin = json.loads(r.read())
    # what the page uses: the schema's defaults (postBuild's overrides.json lands there) under the user's own
    composite = {k: v.get("default") for k, v in plugin["schema"]["properties"].items()} | plugin.get("settings", {})
    assert composite.get("fetchNews") == "false" and composite.get("checkForUpdates") is False, composite
    wait_settled(page)
    dialogs = page.locator(".jp-Dialog")
    assert dialogs.count() == 0, f"a dialog blocks the page: {dialogs.first.inner_text()[:300]}"
    toasts = page.locator(".Toastify__toast")
    assert toasts.count() == 0, f"a notification covers the page: {toasts.first.inner_text()[:300]}"


@pytest.mark.parametrize("urlpath", _binder_urlpaths())
def test_binder_link_opens_its_notebook_with_nothing_in_the_way(page, lab, shot, urlpath):
    open_notebook(page, lab, urlpath)
    name = urlpath.rsplit("/", 1)[-1]
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert tab.inner_text().strip().startswith(name)
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").count() == 1, "more than the notebook opened"
    _assert_nothing_in_the_way(page, lab)
    assert current_notebook(page).locator(".validate-button").is_visible(), "no Validate button in the toolbar"
    assert not page.console_errors, page.console_errors
    shot("opened")


def test_index_links_open_the_notebooks(page, lab, shot):
    if not RELEASED:
        pytest.skip("no released notebook yet")
    open_notebook(page, lab, INDEX_URLPATH)
    shot("index")
    aid = RELEASED[0]
    link = current_notebook(page).locator(f'a[href*="/{aid}/{aid}.ipynb"]').first
    link.scroll_into_view_if_needed()
    link.click()
    wait_notebook_ready(page, f"{aid}.ipynb")
    _assert_nothing_in_the_way(page, lab)
    shot("link-opened")


def _validate_target() -> tuple[str, str, str, str]:
    """The first released notebook with a wrong variant: (aid, exercise, variant name, wrong code)."""
    for aid in RELEASED:
        path = VARIANTS / f"{aid}.py"
        if path.exists():
            wrong = runpy.run_path(str(path)).get("WRONG", {})
            for ex, variants in wrong.items():
                for name, code in variants.items():
                    return aid, ex, name, code
    pytest.skip("no released notebook with sensitivity variants yet")


def _first_line(source: str) -> str:
    return next(ln for ln in source.splitlines() if ln.strip())


def _student_copy(binder_env, aid: str, suffix: str):
    """A copy of the release for one test: the release itself stays as it is for tests running alongside."""
    release_path = notebook_path(aid, binder_env.home / "course")
    path = release_path.with_name(f"{aid}-{suffix}.ipynb")
    path.write_text(release_path.read_text())
    return path, "lab/tree/" + path.relative_to(binder_env.home).as_posix()


def test_wrong_answer_shows_its_diagnosis_and_a_right_one_validates(page, lab, binder_env, shot, artifacts):
    aid, ex, variant, wrong = _validate_target()
    path, urlpath = _student_copy(binder_env, aid, "student")
    stubs = answer_cells(read_nb(path))
    solutions = answer_cells(read_nb(notebook_path(aid, SOLUTIONS)))
    try:
        open_notebook(page, lab, urlpath)
        # every other exercise answered right, this one with a common mistake
        for gid, stub in stubs.items():
            cell = find_cell(page, _first_line(stub.source))
            type_into_cell(page, cell, wrong.strip() if gid == ex else strip_solution_markers(solutions[gid].source))
        shot(f"typed-wrong-{variant}")
        run_and_wait(page, lambda: menu(page, "Run", "Run All Cells"))
        shot("run-all")

        # the test cell says what is wrong in one line
        test_cell = find_cell(page, f'"""{ex}:')
        error = test_cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        error.wait_for()
        diagnosis = [ln for ln in error.inner_text().strip().splitlines() if ln.strip()][-1]
        assert "NotImplementedError" not in diagnosis and "not implemented" not in diagnosis, diagnosis
        assert ":" in diagnosis and len(diagnosis) > 20, f"no one-line diagnosis: {diagnosis!r}"
        shot("test-cell-diagnosis")

        # Validate: the dialog names the one failing test with that diagnosis, not pages of code
        t0 = time.perf_counter()
        dialog = press_validate(page)
        validate_wrong = time.perf_counter() - t0
        assert dialog.locator(".validation-failed").count() == 1
        text = dialog.inner_text()
        assert "The following cell failed" in text
        assert diagnosis.split(":", 1)[1].strip()[:60] in " ".join(text.split()), "Validate hides the diagnosis"
        message = dialog.locator("#validation-message").inner_text()
        lines = [ln for ln in message.splitlines() if ln.strip()]
        assert len(lines) <= 12, f"Validate shows {len(lines)} lines for one wrong answer:\n{message[:2000]}"
        dialog.locator(".jp-Dialog-content").screenshot(path=str(artifacts / "validate-dialog.png"))
        shot("validate-failed")
        close_dialog(page)

        # the mistake fixed: Validate succeeds
        cell = find_cell(page, _first_line(stubs[ex].source))
        type_into_cell(page, cell, strip_solution_markers(solutions[ex].source))
        shot("typed-right")
        t0 = time.perf_counter()
        dialog = press_validate(page)
        validate_right = time.perf_counter() - t0
        assert dialog.locator(".validation-success").count() == 1, dialog.inner_text()[:2000]
        assert "Success! Your notebook passes all the tests." in dialog.inner_text()
        shot("validate-success")
        close_dialog(page)
        # a stall waits out nbgrader's 120 s cell limit (binder/postBuild); a loaded machine takes far less
        assert max(validate_wrong, validate_right) < 110, (validate_wrong, validate_right)
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize("aid", RELEASED)
def test_run_all_runs_past_unanswered_exercises_to_the_last_cell(page, lab, binder_env, shot, aid):
    """A student who runs everything before answering anything sees every cell run: unanswered
    exercises' tests fail (their cells carry `raises-exception`) and demos say the exercise is open."""
    path, urlpath = _student_copy(binder_env, aid, "run-all")
    try:
        open_notebook(page, lab, urlpath)
        assert all(c is None for c in execution_counts(page))
        run_and_wait(page, lambda: menu(page, "Run", "Run All Cells"))
        counts = execution_counts(page)
        unrun = [i for i, c in enumerate(counts) if c is None]
        assert not unrun, f"Run All stopped: code cells {unrun} of {len(counts)} have no execution count"
        assert counts == sorted(counts), f"cells ran out of order: {counts}"
        cells = [c for c in read_nb(path).cells if c.cell_type == "code"]
        last = find_cell(page, _first_line(cells[-1].source))
        assert re.search(r"\[\d+\]", last.locator(".jp-InputPrompt").first.inner_text()), "the last cell did not run"
        shot("last-cell")
    finally:
        path.unlink(missing_ok=True)


WIDGET = re.compile(r"\binteract\s*\(|widgets\.\w*Slider|\bFloatSlider\(|\bIntSlider\(")


def _widget_notebook() -> tuple[str, str] | None:
    """(aid, first line of its widget cell): notebook 04's learning-rate slider if there, else the first one."""
    found = []
    for aid in RELEASED:
        for c in read_nb(notebook_path(aid, COURSE)).cells:
            if c.cell_type == "code" and WIDGET.search(c.source) and not c.get("metadata", {}).get("nbgrader"):
                found.append((aid, _first_line(c.source)))
                break
    preferred = [f for f in found if f[0].startswith("04-")]
    return (preferred or found or [None])[0]


SCRATCH = '''\
import numpy as np
import matplotlib.pyplot as plt
from ipywidgets import interact, FloatSlider

def show(rate=0.5):
    x = np.linspace(0, 10, 200)
    plt.plot(x, np.exp(-rate * x))
    plt.title(f"rate {rate:.2f}")
    plt.show()

interact(show, rate=FloatSlider(value=0.5, min=0.1, max=2.0, step=0.1))'''


def test_widget_slider_renders_and_redraws_its_figure(page, lab, binder_env, shot):
    target = _widget_notebook()
    home = binder_env.home
    if target:
        # a student who has done the exercises (the widget draws their descent path)
        aid, first_line = target
        nb = filled_submission(read_nb(notebook_path(aid, home / "course")), read_nb(notebook_path(aid, SOLUTIONS)))
        path = home / "course" / aid / f"{aid}-answered.ipynb"
    else:
        first_line = "import numpy as np"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SCRATCH)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        path = home / "scratch-widget.ipynb"
    nbformat.write(nb, str(path))
    try:
        open_notebook(page, lab, "lab/tree/" + path.relative_to(home).as_posix())
        run_and_wait(page, lambda: menu(page, "Run", "Run All Cells"))
        cell = find_cell(page, first_line)
        out = cell.locator(".jp-Cell-outputArea")
        slider = out.locator(".widget-slider").first
        slider.wait_for()
        assert "Error displaying widget" not in out.inner_text()
        assert "Loading widget" not in out.inner_text()
        img = out.locator(".widget-output img").first
        img.wait_for()
        out.scroll_into_view_if_needed()
        before_src, before_value = img.get_attribute("src"), slider.locator(".widget-readout").inner_text()
        shot("widget-before")
        slider.locator(".noUi-handle").focus()
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([el, src]) => { const i = el.querySelector('.widget-output img'); return i && i.src !== src; }",
            arg=[out.element_handle(), before_src])
        after_value = slider.locator(".widget-readout").inner_text()
        assert after_value != before_value
        frames(page)
        out.scroll_into_view_if_needed()
        shot("widget-after")
    finally:
        path.unlink(missing_ok=True)


def test_no_instructor_panel_menu_or_command(page, lab, shot):
    urlpath = _urlpath(RELEASED[0]) if RELEASED else INDEX_URLPATH
    open_notebook(page, lab, urlpath)
    # the plugins are off in the page's own configuration
    disabled = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                             ".disabledExtensions")
    assert INSTRUCTOR_PLUGINS <= set(disabled), disabled
    # menus
    labels = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert labels and not [m for m in labels if INSTRUCTOR.search(m)], labels
    assert page.locator("#jp-mainmenu-nbgrader").count() == 0
    # sidebars and anything nbgrader puts in the DOM
    tabs = page.evaluate("() => [...document.querySelectorAll('.jp-SideBar .lm-TabBar-tab')]"
                         ".map(t => [t.title, t.dataset.id, t.textContent].join(' '))")
    assert tabs and not [t for t in tabs if INSTRUCTOR.search(t)], tabs
    assert page.evaluate("() => document.querySelectorAll('[id*=nbgrader], [data-id*=nbgrader], [id*=formgrader]')"
                         ".length") == 0
    # command palette: nothing to open, though the palette itself answers
    for query in ("formgrader", "assignment", "course list", "nbgrader"):
        items = palette_search(page, query)
        assert not [i for i in items if INSTRUCTOR.search(i)], (query, items)
    assert palette_search(page, "restart kernel"), "the command palette offers nothing at all"
    palette_search(page, "assignment")
    shot("command-palette")
    close_palette(page)
    # the launcher
    menu(page, "File", "New Launcher")
    page.locator(".jp-Launcher").filter(visible=True).first.wait_for()
    cards = page.locator(".jp-LauncherCard").filter(visible=True).all_inner_texts()
    assert cards and not [c for c in cards if INSTRUCTOR.search(c)], cards
    shot("launcher")
    # the server: Validate's handlers answer, the instructor's do not exist
    assert lab.status(f"nbgrader_version?version={NBGRADER}") == 200
    for gone in ("formgrader", "formgrader/api/assignments", "assignments", "courses", "formgraders"):
        assert lab.status(gone) == 404, f"/{gone} answers: an instructor server extension is on"
