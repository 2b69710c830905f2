"""Student feedback pages that carry only what they should, rendered with nbgrader's template.

The feedback notebook is built from the executed notebook and the record:

- test cells show their released code (docstring and call; there is no hidden test in it)
  and, as their only output, the trusted verdict: points per part and the one-line diagnosis;
- every other cell shows its outputs as they were **before the first test ran** (the
  executor's snapshot): nothing a test's inputs or a later display update wrote reaches the
  page; errors are reduced to one line, scripts and widget state are dropped, and HTML is
  sanitised by nbconvert (``sanitize_html``);
- a hand-in flagged for review opens with a note that says why (with the lines) and what
  the student can do.

nbgrader's feedback template renders it (:func:`render`), with the scores in the cells'
metadata as nbgrader's ``GetGrades`` would put them; the page then loads MathJax from the
output folder's own copy (:func:`install_mathjax`), so math renders offline, and its table
of contents names each test by its exercise. :func:`leaks` is a last check of a page.
"""

from __future__ import annotations

import copy
import html
import re
import shutil
from pathlib import Path

import nbformat

from ..course import nbgrader_meta
from .notebook import ROLE_KEY, cell_role
from .records import Record, TestResult

__all__ = ["MATHJAX_DIR", "feedback_notebook", "install_mathjax", "leaks", "not_graded_page", "render",
           "verdict_text"]

MATHJAX_DIR = "_mathjax"              # under the feedback folder, shared by every page
CDN = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe"
# A student's own outputs reach the page as text and pictures only: HTML, Markdown and scripts
# could draw anything there, a fake score line included.
KEEP_MIME = ("text/plain", "image/png", "image/jpeg")
REVIEW_NOTE = (
    "**Your hand-in was flagged for review.** The grader found code in your answers that reaches for "
    "parts of the notebook, the kernel or the course library that an answer has no need of:\n\n{lines}\n\n"
    "{policy} Your answers and their automatic scores are kept. If this is a misunderstanding, remove "
    "that code and hand in again, or write to your instructor and explain what the code was for."
)


def verdict_text(t: TestResult, exercise: str) -> str:
    """The test cell's output: points, then one line per part."""
    pts = f"{t.score:g} of {t.max_score:g} point{'s' if t.max_score != 1 else ''}"
    if len(t.parts) <= 1:
        return f"{exercise}: passed, {pts}" if t.passed else f"{exercise}: {pts}. {t.message}"
    lines = [f"{exercise}: {pts}"]
    for p in t.parts:
        mark = "passed" if p.earned >= p.points else f"failed: {p.message}"
        lines.append(f"  {p.name} ({p.earned:g}/{p.points:g}): {mark}")
    return "\n".join(lines)


def _clean_outputs(outputs: list) -> list:
    out = []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream":
            out.append(nbformat.v4.new_output("stream", name=o.get("name", "stdout"), text=str(o.get("text", ""))))
        elif kind == "error":
            ename = re.sub(r"[^A-Za-z0-9_.]", "", str(o.get("ename", "Error")))[:60] or "Error"
            evalue = " ".join(str(o.get("evalue", "")).split())[:300]
            out.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
        elif kind in ("display_data", "execute_result"):
            data = {k: v for k, v in (o.get("data") or {}).items() if k in KEEP_MIME}
            if data:
                out.append(nbformat.v4.new_output("display_data", data=data))
    return out


def feedback_notebook(executed, snapshot: dict[int, list], record: Record, tamper_zero: bool) -> nbformat.NotebookNode:
    """The notebook the feedback page shows (see the module docstring)."""
    nb = nbformat.from_dict(copy.deepcopy(executed))
    cells = []
    if record.tampering:
        lines = "\n".join(f"- `{(f.code or f.where).replace('`', chr(39))}` ({f.where}, line {f.line}): {f.message}"
                          if f.line else f"- {f.message}" for f in record.tampering[:12])
        policy = ("Until your instructor has looked at it, this hand-in counts **0 points** (the scores below "
                  "are what your answers earned)." if tamper_zero else "Your instructor will look at it.")
        cells.append(nbformat.v4.new_markdown_cell(REVIEW_NOTE.format(lines=lines, policy=policy)))
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            m = nbgrader_meta(c)
            if cell_role(c) == "test":
                c.source = c.metadata.pop("bpl_visible_source", c.source)
                t = record.tests.get(m.get("grade_id"))
                text = verdict_text(t, m["grade_id"].removesuffix("_tests")) if t else "not graded"
                stream = "stdout" if t and t.passed else "stderr"
                c.outputs = [nbformat.v4.new_output("stream", name=stream, text=text + "\n")]
                m["score"] = 0.0 if (t is None or (tamper_zero and record.tampering)) else float(t.score)
                m["points"] = float(m.get("points", t.max_score if t else 0))
            else:
                c.outputs = _clean_outputs(snapshot.get(i, []))
            if m.get("solution"):
                m["comment"] = None
            c.execution_count = None
        c.metadata.pop(ROLE_KEY, None)
        c.metadata.pop("bpl_visible_source", None)
        cells.append(c)
    nb.cells = cells
    return nb


def render(nb, record: Record, tamper_zero: bool) -> str:
    """The HTML page, with nbgrader's feedback template."""
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from traitlets.config import Config

    base = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [str(base / "templates")]
    c.HTMLExporter.extra_template_paths = [str(base / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    c.HTMLExporter.sanitize_html = True
    exporter = HTMLExporter(config=c)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(config=c), enabled=True)
    score = record.counted_score(tamper_zero) or 0.0
    resources = {"nbgrader": {"notebook": record.aid, "score": score, "max_score": record.max_score,
                              "late_penalty": 0, "student": record.student.key}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return _offline(body)


def _offline(page: str) -> str:
    """MathJax from the feedback folder's own copy, and table-of-contents links named by exercise."""
    if CDN not in page:
        raise RuntimeError("nbgrader's feedback template no longer loads MathJax from the expected URL")
    page = page.replace(CDN, f"../{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,local/offline")
    return re.sub(r'<a href="#(ex\d\d_[a-z0-9_]+?)_tests">Test cell</a>', r'<a href="#\1_tests">Exercise \1</a>', page)


def install_mathjax(feedback_dir: Path) -> Path:
    """Copy MathJax (from the ``jupyter-server-mathjax`` package) next to the feedback pages."""
    import jupyter_server_mathjax

    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dest = feedback_dir / MATHJAX_DIR
    done = dest / ".complete"
    if done.exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    keep = ["MathJax.js", "config", "jax/input/TeX", "jax/output/HTML-CSS", "jax/element", "extensions",
            "fonts/HTML-CSS/STIX-Web", "LICENSE"]
    for k in keep:
        s, d = src / k, dest / k
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True, ignore=shutil.ignore_patterns("a11y"))
        else:
            shutil.copy(s, d)
    (dest / "config" / "local").mkdir(parents=True, exist_ok=True)
    (dest / "config" / "local" / "offline.js").write_text(  # the fonts that ship here, nothing from the network
        'MathJax.Hub.Config({"HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", '
        'webFont: "STIX-Web", imageFont: null}});\n'
        'MathJax.Ajax.loadComplete("[MathJax]/config/local/offline.js");\n')
    done.write_text(jupyter_server_mathjax.__name__)
    return dest


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def html_text(page: str) -> str:
    """The visible text of an HTML page, whitespace-normalised (tags removed, entities decoded)."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def leaks(page: str, hidden_lines: list[str]) -> list[str]:
    """Hidden-test lines that appear in a page, compared as letters and digits only (so
    spacing, case, punctuation or markup between the words do not hide them)."""
    text = _norm(html_text(page))
    return [h for h in hidden_lines if len(_norm(h)) >= 12 and _norm(h) in text]


def not_graded_page(record: Record) -> str:
    e = html.escape
    return (f"<!doctype html><meta charset='utf-8'><title>{e(record.aid)} · {e(record.student.display)}</title>"
            "<body style='font-family:sans-serif;max-width:50em;margin:2em auto'>"
            f"<h1>{e(record.aid)}</h1><p>Your hand-in for <b>{e(record.aid)}</b> could not be graded automatically:</p>"
            f"<p style='color:#a00'><b>{e(record.reason)}</b></p>"
            "<p>Your instructor has been told and will look at it. Please check that you handed in the "
            "notebook file (<code>.ipynb</code>) of this assignment, downloaded from JupyterLab.</p></body>")
