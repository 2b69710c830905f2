"""A student's feedback page and the class report, in Debian's chromium with the network off.

The pages come from the documented Canvas class of ``tests/grading/fixtures``, graded through
the real pipeline (``tests/grading/lms.py``, shared with the grading tests). Every http(s)
request is aborted (and the context is offline): the page must render its formulas with the
MathJax shipped beside it, name its table-of-contents links by exercise, and on a hand-in
flagged for review say why and what the student can do. Screenshots go to
tests/artifacts/browser/ (feedback-offline.png, feedback-toc.png, feedback-flagged.png, report.png).
Every wait is on a state of the page, never on time.
"""

from __future__ import annotations

import re

import pytest

from tests.grading.lms import AID, graded

pytestmark = pytest.mark.xdist_group("lms-class")

# MathJax 2 has finished its start-up typeset (the "End" hook runs at once if it already has): how many
# formulas it typeset
TYPESET = """() => new Promise(done => MathJax.Hub.Register.StartupHook("End",
    () => done(document.querySelectorAll('.MathJax, .MathJax_Display').length)))"""


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    return graded("canvas", tmp_path_factory)


@pytest.fixture
def offline(browser):
    """A page in a context whose every http(s) request is aborted; ``page.blocked`` lists them."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.blocked, page.errors = [], []

    def block(route):
        if route.request.url.startswith(("http://", "https://")):
            page.blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", block)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def _open(page, path):
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.MathJax && window.MathJax.Hub && window.MathJax.Hub.Register")
    return page.evaluate(TYPESET)


def test_feedback_page_renders_math_offline_and_names_exercises(klass, offline, artifacts):
    page = offline
    path = klass / "feedback" / "1011" / f"{AID}.html"
    typeset = _open(page, path)
    assert typeset > 0, "MathJax typeset nothing"
    rendered = page.locator(".text_cell_render .MathJax, .text_cell_render .MathJax_Display")
    assert rendered.count() > 0, "no formula rendered in the narrative"
    first = rendered.first
    assert first.bounding_box()["width"] > 0, "a formula element with no size: not rendered"
    text = page.locator(".text_cell_render").all_inner_texts()
    raw = [m for t in text for m in re.findall(r"\$[^$\n]{1,80}\$", t)]
    assert not raw, f"raw TeX left on the page: {raw[:3]}"
    assert not page.locator("#MathJax_Message:visible").filter(has_text=re.compile("error|fail", re.IGNORECASE)).count()
    assert page.blocked == [], f"the page reached for the network: {page.blocked[:3]}"
    assert page.errors == [], page.errors
    first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "feedback-offline.png"))
    # the table of contents names each test by its exercise
    toc = page.locator("#toc a")
    names = toc.all_inner_texts()
    assert names and all(re.fullmatch(r"Exercise ex01_[a-z0-9_]+", n) for n in names), names
    assert not page.get_by_text("Test cell", exact=True).count()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "feedback-toc.png"))
    toc.first.click()
    page.wait_for_function("() => location.hash === '#ex01_chain_tests'")


def test_a_flagged_hand_in_says_why_and_what_the_student_can_do(klass, offline, artifacts):
    page = offline
    _open(page, klass / "feedback" / "1015" / f"{AID}.html")
    note = page.locator(".text_cell_render", has_text="flagged for review").first
    note.wait_for()
    note.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "feedback-flagged.png"))
    text = " ".join(note.inner_text().split())
    assert "Your hand-in was flagged for review" in text
    assert "import inspect" in text, "the note shows the line that was flagged"
    assert not re.search(r"&(#x?[0-9a-f]+|amp|lt|gt|quot);", text, re.IGNORECASE), \
        f"HTML escaped twice in the note: {text[:300]}"
    assert "hand in again" in text and "write to your instructor" in text, "what the student can do"
    assert "0 points" in text, "why tests that passed show 0"
    assert page.blocked == []


def test_the_class_report_offline(klass, offline, artifacts):
    page = offline
    page.goto((klass / "report.html").as_uri())
    page.wait_for_load_state("load")
    page.wait_for_function("() => [...document.images].length > 0 && [...document.images].every("
                           "i => i.complete && i.naturalWidth > 0)")
    assert page.locator("h2", has_text=AID).count() == 1
    assert page.get_by_text("Flagged for review").count() >= 1
    assert page.blocked == []
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
