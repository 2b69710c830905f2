"""The class report: one self-contained HTML page with figures (also saved as PNGs).

Per assignment: how each exercise went (full marks / partly / failed / crashed or timed
out / not graded), the distribution of notebook scores, and the most common diagnosed
mistakes per exercise (the one-line diagnoses of ``backproplab.grading``, counted by kind,
with the most frequent message as the example). Then every submission that could not be
graded, with the reason; every submission flagged for tampering; and the notes (edited or
deleted test cells, hand-ins received twice, answers matched without their metadata).
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter, defaultdict
from pathlib import Path

from ..course import graded_cells

__all__ = ["write_report"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:14px;width:100%}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{background:#f6f8fa;border-radius:8px;padding:.8em 1.2em}
.card b{font-size:1.6em;display:block}.bad{color:#b00}.warn{color:#a60}.muted{color:#777}
img{max-width:100%;border:1px solid #eee}
"""

COLORS = {"full": "#2e7d32", "partial": "#9ccc65", "failed": "#ef6c00", "crash": "#c62828", "missing": "#bdbdbd"}


def _png(fig, path: Path) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    path.write_bytes(buf.getvalue())
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _exercise_figure(aid, tests, maxes, records, students, fig_dir, tamper_zero=True):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.55 * len(tests) + 2.2),
                                   gridspec_kw={"width_ratios": [1.6, 1]}, constrained_layout=True)
    cats = ["full", "partial", "failed", "crash", "missing"]
    labels = {"full": "full marks", "partial": "partly", "failed": "failed",
              "crash": "crashed / timed out", "missing": "not graded / not handed in"}
    counts = {g: Counter() for g in tests}
    for s in students:
        r = records.get((s, aid))
        for g in tests:
            t = r.tests.get(g) if r is not None and r.graded else None
            crashed = r is not None and any(f.kind in ("crash", "timeout") and f.where == g for f in r.flags)
            if t is None:
                counts[g]["missing"] += 1
            elif crashed:
                counts[g]["crash"] += 1
            elif t.score >= t.max_score:
                counts[g]["full"] += 1
            elif t.score > 0:
                counts[g]["partial"] += 1
            else:
                counts[g]["failed"] += 1
    names = [g.removesuffix("_tests") for g in tests]
    left = [0] * len(tests)
    for c in cats:
        vals = [counts[g][c] for g in tests]
        ax1.barh(names, vals, left=left, color=COLORS[c], label=labels[c])
        left = [a + b for a, b in zip(left, vals)]
    ax1.invert_yaxis()
    ax1.set_xlabel("students")
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_title(f"{aid}: each exercise")
    ax1.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncol=3, fontsize=8, frameon=False)
    totals = [r.counted_score(tamper_zero) for (s, a), r in records.items() if a == aid and r.graded]
    mx = sum(maxes.values())
    ax2.hist(totals, bins=[x - 0.5 for x in range(int(mx) + 2)] if mx <= 40 else 20, color="#1565c0", rwidth=0.85)
    ax2.set_xlabel(f"notebook score (of {mx:g})")
    ax2.set_ylabel("students")
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set_title("score distribution (graded hand-ins)")
    src = _png(fig, fig_dir / f"{aid}.png")
    plt.close(fig)
    return src, counts


def _table(head, rows, num=()):
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td class='n'>{e(str(v))}</td>" if i in num else f"<td>{v}</td>"
                                     for i, v in enumerate(r)) + "</tr>")
    return "".join(out) + "</table>"


def write_report(out: Path, aids, releases, students, records, problems, ignored, tamper_zero: bool,
                 quiet: bool = False) -> Path:
    """``out/report.html`` and ``out/report/*.png``; rewritten only when the records changed."""
    import hashlib
    import json

    e = html.escape
    key = hashlib.sha256(json.dumps([sorted((k, a, r.key, r.status) for (k, a), r in records.items()),
                                     sorted(map(str, problems)), sorted(students), tamper_zero, aids],
                                    default=str).encode()).hexdigest()
    stamp = out / "report" / ".key"
    path = out / "report.html"
    if path.exists() and stamp.exists() and stamp.read_text() == key:
        return path
    fig_dir = out / "report"
    fig_dir.mkdir(parents=True, exist_ok=True)

    def who(k):
        s = students.get(k)
        return f"{e(s.display)} <span class='muted'>({e(k)})</span>" if s and s.name and s.name != k else e(k)

    graded = [r for r in records.values() if r.graded]
    not_graded = [(k, a, r.reason) for (k, a), r in sorted(records.items()) if not r.graded]
    not_graded += [(k or "?", a or "?", why) for k, a, why in problems if (k, a) not in records]
    flagged = [(k, a, r) for (k, a), r in sorted(records.items()) if r.tampering]
    parts = [(f"<!doctype html><html><head><meta charset='utf-8'><title>Class report</title><style>{CSS}</style>"
              "</head><body><h1>Class report</h1>"),
             f"<p class='muted'>{len(students)} students · {len(aids)} assignment(s): {e(', '.join(aids))}</p>",
             "<div class='cards'>",
             f"<div class='card'><b>{len(students)}</b>students</div>",
             f"<div class='card'><b>{len(graded)}</b>hand-ins graded</div>",
             f"<div class='card'><b class='{'bad' if not_graded else ''}'>{len(not_graded)}</b>could not be graded</div>",
             f"<div class='card'><b class='{'bad' if flagged else ''}'>{len(flagged)}</b>flagged for review</div>",
             "</div>"]
    for aid in aids:
        cells = graded_cells(releases[aid])
        tests = list(cells)
        maxes = {g: float(c.metadata.nbgrader.get("points", 0)) for g, c in cells.items()}
        if not any(a == aid for (_, a) in records):
            continue
        src, counts = _exercise_figure(aid, tests, maxes, records, students, fig_dir, tamper_zero)
        mine = [r for (s, a), r in records.items() if a == aid and r.graded]
        mean = sum(r.counted_score(tamper_zero) for r in mine) / len(mine) if mine else 0
        parts.append(f"<h2>{e(aid)}</h2><p>{len(mine)} graded hand-in(s); mean {mean:.2f} of "
                     f"{sum(maxes.values()):g} points.</p><img alt='scores of {e(aid)}' src='{src}'>")
        rows = []
        for g in tests:
            full = counts[g]["full"]
            n = sum(counts[g].values())
            kinds: Counter = Counter()
            msgs: dict[str, Counter] = defaultdict(Counter)
            for r in mine:
                t = r.tests.get(g)
                if t and t.score < t.max_score:
                    kind = (t.kinds or ["failed"])[0]
                    kinds[kind] += 1
                    msgs[kind][t.message] += 1
            common = "<br>".join(f"<b>{e(k)}</b> × {c}: <span class='muted'>{e(msgs[k].most_common(1)[0][0][:160])}</span>"
                                 for k, c in kinds.most_common(4)) or "<span class='muted'>none</span>"
            rows.append([f"<code>{e(g.removesuffix('_tests'))}</code>", f"{maxes[g]:g}", f"{full}/{n}", common])
        parts.append("<h3>Most common diagnosed mistakes</h3>"
                     + _table(["exercise", "points", "full marks", "diagnoses (kind × count: most common message)"],
                              rows, num=(1, 2)))
    parts.append("<h2>Hand-ins that could not be graded</h2>")
    parts.append(_table(["student", "assignment", "reason"],
                        [[who(k), e(a), f"<span class='bad'>{e(why)}</span>"] for k, a, why in not_graded])
                 if not_graded else "<p class='muted'>none</p>")
    crashes = [[who(k), e(a), f"<code>{e(f.where)}</code>", e(f.message)]
               for (k, a), r in sorted(records.items()) for f in r.flags if f.kind in ("crash", "timeout")]
    parts.append("<h2>Exercises that crashed or timed out</h2><p class='muted'>The kernel was restarted "
                 "and the rest of the notebook graded; only these exercises lost their points.</p>")
    parts.append(_table(["student", "assignment", "test", "reason"], crashes) if crashes
                 else "<p class='muted'>none</p>")
    parts.append("<h2>Flagged for review</h2><p class='muted'>Answer cells that reach for the kernel's or the "
                 "grader's internals, or for the library's own answer. Scores are decided outside the student's "
                 "kernel, so this code earned nothing; "
                 + ("these hand-ins count 0 until you review them." if tamper_zero else "their scores are kept.")
                 + "</p>")
    parts.append(_table(["student", "assignment", "what was found"],
                        [[who(k), e(a), "<br>".join(e(str(f)) for f in r.tampering[:8])
                          + (f"<br>… {len(r.tampering) - 8} more" if len(r.tampering) > 8 else "")]
                         for k, a, r in flagged]) if flagged else "<p class='muted'>none</p>")
    notes = [[who(k), e(a), "<br>".join(e(n) for n in r.notes)] for (k, a), r in sorted(records.items()) if r.notes]
    parts.append("<h2>Notes</h2><p class='muted'>Edited, deleted, duplicated or retyped test cells were "
                 "replaced by the originals; these do not change a score.</p>")
    parts.append(_table(["student", "assignment", "notes"], notes) if notes else "<p class='muted'>none</p>")
    if ignored:
        parts.append(f"<p class='muted'>Ignored {len(ignored)} file(s) of the export that are not notebooks: "
                     f"{e(', '.join(ignored[:10]))}{' …' if len(ignored) > 10 else ''}</p>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts))
    stamp.write_text(key)
    return path
