"""Student feedback that cannot carry a hidden test.

The feedback notebook is built from the executed (graded) notebook by an information-flow
rule: hidden tests exist in the kernel only from the first test cell on, so

- the grader's guard cells are removed;
- test cells keep their visible part only (the hidden block becomes one comment line) and
  a one-line verdict in place of their outputs: ``ename: message``, never a traceback, and
  the message is withheld if it quotes a hidden-test line;
- every other cell keeps its outputs only if it ran *before* the first test cell.

nbgrader's ``generate_feedback`` then renders it (scores from the gradebook), and
:func:`leaks` checks the rendered HTML once more.
"""

from __future__ import annotations

import html
import re

import nbformat

from .execute import cell_role
from .tamper import hidden_lines

__all__ = ["failed_feedback_html", "html_text", "leaks", "sanitize", "strip_hidden"]

HIDDEN_NOTE = "# (hidden tests run here when your notebook is graded)"


def _ws(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def strip_hidden(source: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        s = line.strip()
        if s == "### BEGIN HIDDEN TESTS":
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif s == "### END HIDDEN TESTS":
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _scrub(text: str, hidden: list[str]) -> str:
    t = _ws(text)[:300]
    if any(h in t for h in hidden) or any(len(t) >= 20 and t in h for h in hidden):
        return "(message withheld: it quoted a hidden test)"
    return t


def _verdict(cell, hidden: list[str]) -> list:
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            ename = re.sub(r"[^A-Za-z0-9_.]", "", str(o.get("ename", "Error")))[:60] or "Error"
            msg = _scrub(str(o.get("evalue", "")), hidden)
            return [nbformat.v4.new_output("error", ename=ename, evalue=msg, traceback=[f"{ename}: {msg}"])]
    if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.get("outputs", [])):
        return [nbformat.v4.new_output("stream", name="stderr",
                                       text="The test wrote to stderr (a warning?), which counts as a failure.\n")]
    return []


def sanitize(executed_nb, source_nb) -> nbformat.NotebookNode:
    """The feedback notebook for one graded submission (see the module docstring)."""
    hidden = [_ws(h) for h in hidden_lines(source_nb)]
    nb = nbformat.from_dict(executed_nb)
    cells, seen_test = [], False
    for c in nb.cells:
        role = cell_role(c)
        if role in ("prelude", "guard"):
            continue
        if c.cell_type == "code":
            if role == "test":
                seen_test = True
                c.source = strip_hidden(c.source)
                c.outputs = _verdict(c, hidden)
            elif seen_test:
                c.outputs = []
            else:
                for o in c.outputs:
                    if o.get("output_type") == "error":
                        o["traceback"] = [f"{o.get('ename')}: {_scrub(str(o.get('evalue', '')), hidden)}"]
        c.metadata.pop("bpl_role", None)
        cells.append(c)
    nb.cells = cells
    return nb


def html_text(page: str) -> str:
    """The visible text of an HTML page, whitespace-normalised (tags removed, entities decoded)."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return _ws(html.unescape(re.sub(r"<[^>]+>", "", page)))


def leaks(page_or_text: str, source_nb, is_html: bool = True) -> list[str]:
    """Hidden-test lines of ``source_nb`` that appear in a feedback page (empty: none)."""
    text = html_text(page_or_text) if is_html else _ws(page_or_text)
    return [h for h in hidden_lines(source_nb) if _ws(h) in text]


def failed_feedback_html(student: str, aid: str, reason: str) -> str:
    e = html.escape
    return (f"<!doctype html><meta charset='utf-8'><title>{e(aid)} · {e(student)}</title>"
            "<body style='font-family:sans-serif;max-width:50em;margin:2em auto'>"
            f"<h1>{e(aid)}</h1><p>Your hand-in for <b>{e(aid)}</b> could not be graded automatically:</p>"
            f"<p style='color:#a00'><b>{e(reason)}</b></p>"
            "<p>Your instructor has been told and will look at it. Please check that you handed in the "
            "notebook file (<code>.ipynb</code>) of this assignment, downloaded from JupyterLab.</p></body>")
