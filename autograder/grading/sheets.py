"""Grade sheets: ``grades.csv`` (one row per student, keyed by LMS id), and the roster.

A blank cell means *not graded* (no hand-in, or one that could not be graded: the reason is
in ``notes``), never 0, so an upload does not post zeros for work nobody has looked at.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .records import Record, Student

__all__ = ["read_roster", "write_sheets"]


def _fmt(x: float) -> str:
    return f"{x:g}"


def read_roster(path: Path) -> list[Student]:
    """Students from a roster CSV with columns ``id`` (or ``key``), ``name`` and ``email``."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        low = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
        key = low.get("id") or low.get("key") or low.get("student")
        if key:
            out.append(Student(key, low.get("name", ""), low.get("email", ""), source="roster"))
    return out


def notes_of(r: Record | None, problems: list[str], tamper_zero: bool) -> list[str]:
    """What the instructor should know about one student's hand-in of one assignment."""
    notes = []
    if r is None:
        notes += [f"NOT GRADED ({p})" for p in problems]
        return notes
    if not r.graded:
        notes.append(f"NOT GRADED ({r.reason})")
    if r.tampering:
        notes.append(f"FLAGGED FOR REVIEW ({r.tampering[0]}{' ...' if len(r.tampering) > 1 else ''})"
                     + ("; scored 0 for review" if tamper_zero else ""))
    crashes = [str(f) for f in r.flags if f.kind in ("crash", "timeout")]
    if crashes:
        notes.append("; ".join(crashes))
    return notes


def write_sheets(out: Path, aids: list[str], releases: dict, students: dict[str, Student],
                 records: dict[tuple[str, str], Record], problems: list[tuple[str | None, str | None, str]],
                 tamper_zero: bool) -> list[Path]:
    """Write ``grades.csv``; returns the files written."""
    from ..course import graded_cells, nbgrader_meta

    maxes = {a: sum(float(nbgrader_meta(c).get("points", 0)) for c in graded_cells(releases[a]).values())
             for a in aids}
    path = out / "grades.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "name", "email", *aids, "total", "max_total", "notes"])
        for key in sorted(students):
            s = students[key]
            row, total, notes = [key, s.name, s.email], 0.0, []
            for a in aids:
                r = records.get((key, a))
                why = [p[2] for p in problems if p[0] == key and p[1] in (a, None)]
                sc = r.counted_score(tamper_zero) if r else None
                row.append("" if sc is None else _fmt(sc))
                total += sc or 0.0
                notes += [f"{a}: {n}" for n in notes_of(r, why, tamper_zero)]
            row += [_fmt(total), _fmt(sum(maxes.values())), " | ".join(notes)]
            w.writerow(row)
    return [path]
