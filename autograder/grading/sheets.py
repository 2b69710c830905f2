"""Grade sheets: ``grades.csv``, the import files of the class's LMS, and the roster.

Out of a grading run, beside ``grades.csv`` (one row per student keyed by the LMS's own id:
``student, name, email, <one column per assignment>, total, max_total, notes``)::

    canvas_gradebook_import.csv            students from Canvas: Canvas's gradebook import
    moodle_grading_worksheet_<aid>.csv     students from Moodle: the assignment's offline grading worksheet
    moodle_gradebook_import_<aid>.csv      students from Moodle with an email: a gradebook import by email
    lms_import.txt                         how to upload each file, and what to check first

**A blank cell means "not graded"** (no hand-in, or one that could not be graded: the reason
is in ``notes``), never 0, so an upload never posts zeros for work nobody has looked at. The
import files keep that rule the way each LMS reads them (the sources below):

- Canvas matches a row by its ``ID`` (the Canvas user id), then SIS User ID, SIS Login ID, name,
  and an assignment column by the id in its title ``"<title> (<assignment id>)"``, else by its
  exact title (else it creates the assignment); it skips a ``Points Possible`` row and a
  ``Manual Posting`` row. A blank cell where Canvas already has a score *is* a change there, so
  when the roster is a Canvas gradebook export a cell we did not grade carries the value that
  export had (the import leaves it as it is), and blank only without one.
- Moodle's worksheet import reads only ``Identifier`` (``Participant <id>``), ``Grade``,
  ``Last modified (grade)`` and the feedback columns; it **skips** a blank grade, and skips a row
  whose grade was changed in Moodle after the sheet's ``Last modified (grade)`` (so with the
  downloaded worksheet as roster, its times are kept and grades entered in Moodle win).
- Moodle's gradebook import turns a blank cell into "no grade" (it would erase a grade) and
  aborts on a row whose user it cannot find: so these files hold only graded hand-ins of
  students with an email, one file per assignment.

Where each format is documented (the LMS's own code is the exact reference):

- Canvas: *How do I import grades in the Gradebook?* and *How do I export grades in the
  Gradebook?* (Canvas Instructor Guide, community.canvaslms.com); the export's columns are written
  by ``lib/gradebook_exporter.rb`` and read back by ``app/models/gradebook_importer.rb`` of
  instructure/canvas-lms (header ``Student, ID, SIS User ID, SIS Login ID, [Integration ID,
  Root Account,] Section, <custom columns>, <assignments>``, second row ``"    Points Possible"``,
  scores with two decimals); submissions zips are named by ``app/models/content_zipper.rb``.
- Moodle: *Assignment settings* / *Using Assignment: offline grading worksheet* and *Grade import*
  (docs.moodle.org); the worksheet is written by ``mod/assign/gradingtable.php`` and read by
  ``mod/assign/feedback/offline/importgradeslib.php`` and ``locallib.php`` (English headers from
  ``mod/assign/lang/en/assign.php``: ``Identifier``, ``Full name``, ``Email address``, ``Status``,
  ``Grade``, ``Maximum Grade``, ``Grade can be changed``, ``Last modified (submission)``,
  ``Last modified (grade)``, ``Feedback comments``); the gradebook CSV import is
  ``grade/import/csv/classes/load_data.php`` (map from a column to ``Email address`` or
  ``ID number``); submissions are named by ``mod/assign/classes/downloader.php``
  (``<Full name>_<participant id>_assignsubmission_file[_]/<file>``). A participant id is per
  assignment (``assign_user_mapping``), so a Moodle worksheet is per assignment.

:func:`read_roster` reads the roster the pipeline's ``--roster`` passes: a Canvas gradebook
export, a Moodle grading worksheet, or a plain CSV ``id,name,email``; the LMS's extra columns
ride in :attr:`Student.extra` to the sheets.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import datetime
from pathlib import Path

from .records import Record, Student

__all__ = ["CANVAS_FILE", "CANVAS_IDENTITY", "MOODLE_GRADEBOOK", "MOODLE_WORKSHEET", "WORKSHEET_HEADER",
           "read_roster", "write_sheets"]

CANVAS_FILE = "canvas_gradebook_import.csv"
MOODLE_WORKSHEET = "moodle_grading_worksheet_{aid}.csv"
MOODLE_GRADEBOOK = "moodle_gradebook_import_{aid}.csv"
HELP_FILE = "lms_import.txt"

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS = "    Points Possible"          # as Canvas writes it: four spaces, then the words
CANVAS_RESERVED = {"Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Section",
                   "Integration ID", "Root Account"}
CANVAS_TOTALS = re.compile(r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                           r"Override Score|Override Grade|Override Status")
CANVAS_TITLE_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z")       # Assignment.title_and_id

MOODLE_PARTICIPANT = "Participant "                       # get_string('hiddenuser', 'assign')
WORKSHEET_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                    "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                    "Feedback comments"]
MOODLE_GRADEBOOK_HEADER = ["Email address", "ID number", "Full name"]


# ---------------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return f"{x:g}"


def _two(x: float) -> str:
    """A number as Canvas and Moodle write it in their own files: two decimals."""
    return f"{x:.2f}"


def _natural(key: str):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.casefold()) for t in re.split(r"(\d+)", key) if t]


def display_name(s: Student) -> str:
    """The name the LMS shows (from the roster), else the one the export gave, else the key."""
    return s.extra.get("lms_name") or s.name or s.key


def _lms(s: Student) -> str:
    return s.extra.get("lms") or (s.source if s.source in ("canvas", "moodle") else "")


def _moodle_date(when: datetime) -> str:
    """``userdate()``'s default format (``strftimedaydatetime``, day and hour without a leading 0),
    which Moodle's worksheet import reads back with ``strtotime``."""
    return (f"{when:%A}, {when.day} {when:%B %Y}, {int(when.strftime('%I'))}:{when:%M %p}")


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------------------
# the roster
class RosterError(ValueError):
    """The roster cannot be read (one line)."""


def _rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"cannot read the roster {path}: not UTF-8 text (save it as CSV, UTF-8)") from None
    except OSError as exc:
        raise RosterError(f"cannot read the roster {path}: {exc.strerror or exc}") from None
    first = text.split("\n", 1)[0]
    delim = max([",", ";", "\t"], key=first.count)        # Canvas writes ';' in some locales
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delim) if any(c.strip() for c in r)]
    if not rows:
        raise RosterError(f"cannot read the roster {path}: it is empty")
    return rows


def _canvas_roster(rows: list[list[str]]) -> list[Student]:
    head = [h.strip() for h in rows[0]]
    first_last = head[:2] == ["LastName", "FirstName"]
    col = {h: i for i, h in enumerate(head)}
    if "Section" not in col:
        raise RosterError("a Canvas gradebook export needs its Section column")
    assignments = [(i, h) for i, h in enumerate(head) if i > col["Section"] and h not in CANVAS_RESERVED
                   and CANVAS_TITLE_ID.match(h) and not CANVAS_TOTALS.search(h)]
    points: dict[str, str] = {}
    out = []
    for r in rows[1:]:
        r = r + [""] * (len(head) - len(r))
        if "Points Possible" in r[0]:
            points = {h: r[i].strip() for i, h in assignments}
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.IGNORECASE) for c in r):
            continue                                      # the posting-policy row
        get = lambda name, r=r: r[col[name]].strip() if name in col else ""
        key = get("ID")
        if not key:
            continue
        name = f"{get('FirstName')} {get('LastName')}".strip() if first_last else get("Student")
        login = get("SIS Login ID")
        extra = {"lms": "canvas", "lms_name": name, "canvas_sis_user_id": get("SIS User ID"),
                 "canvas_sis_login_id": login, "canvas_section": get("Section"),
                 "canvas_cells": json.dumps({h: r[i].strip() for i, h in assignments}, ensure_ascii=False)}
        out.append(Student(key, name, login if "@" in login else "", source="canvas", extra=extra))
    columns = json.dumps([[h, points.get(h, "")] for _, h in assignments], ensure_ascii=False)
    for s in out:
        s.extra["canvas_columns"] = columns
    return out


def _moodle_roster(rows: list[list[str]]) -> list[Student]:
    head = [h.strip() for h in rows[0]]
    col = {h: i for i, h in enumerate(head)}
    out = []
    for r in rows[1:]:
        r = r + [""] * (len(head) - len(r))
        get = lambda name, r=r: r[col[name]].strip() if name in col else ""
        ident = get("Identifier")
        if not ident.startswith(MOODLE_PARTICIPANT.strip()):
            continue
        key = ident[len(MOODLE_PARTICIPANT.strip()):].strip()
        extra = {"lms": "moodle", "lms_name": get("Full name"), "moodle_id_number": get("ID number"),
                 "moodle_status": get("Status"), "moodle_grade_can_be_changed": get("Grade can be changed"),
                 "moodle_last_modified_submission": get("Last modified (submission)"),
                 "moodle_last_modified_grade": get("Last modified (grade)"),
                 "moodle_max_grade": get("Maximum Grade")}
        if "Feedback comments" in col:
            extra["moodle_feedback_comments"] = get("Feedback comments")
        out.append(Student(key, get("Full name"), get("Email address"), source="moodle", extra=extra))
    return out


def _plain_roster(rows: list[list[str]], path: Path) -> list[Student]:
    head = [h.strip().lower() for h in rows[0]]

    def pick(*names: str) -> int | None:
        return next((head.index(n) for n in names if n in head), None)

    i_key = pick("id", "key", "student", "username", "login")
    if i_key is None:
        raise RosterError(f"cannot read the roster {path}: it is not a Canvas gradebook export, not a Moodle grading "
                          "worksheet, and has no 'id' column (a plain roster has columns id,name,email)")
    i_name, i_mail = pick("name", "full name"), pick("email", "email address")
    out = []
    for r in rows[1:]:
        r = r + [""] * (len(head) - len(r))
        if r[i_key].strip():
            name = r[i_name].strip() if i_name is not None else ""
            out.append(Student(r[i_key].strip(), name, r[i_mail].strip() if i_mail is not None else "",
                               source="roster", extra={"lms_name": name} if name else {}))
    return out


def read_roster(path: Path) -> list[Student]:
    """Students of a roster: a Canvas gradebook export (key: Canvas user id ``ID``), a Moodle
    grading worksheet (key: the participant id of ``Identifier``), or a plain CSV with columns
    ``id`` (or ``key``/``username``), ``name``, ``email``. Raises the pipeline's one-line
    ``GradeError`` when it cannot be read or an id appears twice."""
    from .pipeline import GradeError

    path = Path(path)
    try:
        rows = _rows(path)
        head = [h.strip() for h in rows[0]]
        if len(head) > 3 and ((head[0] == "Student" and head[1] == "ID") or head[:3] == ["LastName", "FirstName", "ID"]):
            students = _canvas_roster(rows)
        elif "Identifier" in head and "Grade" in head:
            students = _moodle_roster(rows)
        else:
            students = _plain_roster(rows, path)
    except RosterError as exc:
        raise GradeError(str(exc) if str(path) in str(exc) else f"cannot read the roster {path}: {exc}") from None
    seen: dict[str, Student] = {}
    for s in students:
        if s.key in seen:
            raise GradeError(f"the roster {path} is ambiguous: id {s.key!r} is both {seen[s.key].name!r} and {s.name!r}")
        seen[s.key] = s
    if not students:
        raise GradeError(f"cannot read the roster {path}: no student rows in it")
    return students


# ---------------------------------------------------------------------------------------------
# grades.csv
def notes_of(r: Record | None, problems: list[str], tamper_zero: bool) -> list[str]:
    """What the instructor should know about one student's hand-in of one assignment."""
    if r is None:
        return [f"NOT GRADED ({p})" for p in problems] or ["NOT GRADED (no hand-in)"]
    notes = []
    if not r.graded:
        notes.append(f"NOT GRADED ({r.reason})")
    if r.tampering:
        notes.append(f"FLAGGED FOR REVIEW ({r.tampering[0]}{' ...' if len(r.tampering) > 1 else ''})"
                     + ("; scored 0 for review" if tamper_zero else ""))
    crashes = [str(f) for f in r.flags if f.kind in ("crash", "timeout")]
    if crashes:
        notes.append("; ".join(crashes))
    return notes


class _Cell:
    """One student's outcome on one assignment, as every sheet needs it."""

    def __init__(self, r: Record | None, why: list[str], tamper_zero: bool) -> None:
        self.record = r
        self.score = r.counted_score(tamper_zero) if r else None
        self.notes = notes_of(r, why, tamper_zero)
        self.handed_in = r is not None or bool(why)
        self.reason = (r.reason if r is not None and not r.graded else "; ".join(why)) if self.score is None else ""


def _cells(aids, students, records, problems, tamper_zero) -> dict[tuple[str, str], _Cell]:
    out = {}
    for key in students:
        for a in aids:
            why = [p[2] for p in problems if p[0] == key and p[1] in (a, None)]
            out[(key, a)] = _Cell(records.get((key, a)), why, tamper_zero)
    return out


def _grades_csv(path: Path, aids, maxes, students, order, cells) -> Path:
    rows = [["student", "name", "email", *aids, "total", "max_total", "notes"]]
    for key in order:
        s = students[key]
        scores = [cells[(key, a)].score for a in aids]
        graded = [x for x in scores if x is not None]
        notes = [f"{a}: {n}" for a in aids for n in cells[(key, a)].notes]
        rows.append([key, display_name(s), s.email, *("" if x is None else _fmt(x) for x in scores),
                     _fmt(sum(graded)) if graded else "", _fmt(sum(maxes.values())), " | ".join(notes)])
    return _write_csv(path, rows)


# ---------------------------------------------------------------------------------------------
# Canvas
def _match_canvas(aid: str, columns: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The Canvas column of assignment ``aid``: its title is ``aid``, else contains it (any case)."""
    for exact in (True, False):
        for title, pts in columns:
            name = (CANVAS_TITLE_ID.match(title) or [None, title])[1]
            if (name == aid) if exact else (aid.lower() in name.lower()):
                return title, pts
    return None


def _canvas(path: Path, aids, maxes, students, keys, cells, warn: list[str]) -> Path:
    columns: list[tuple[str, str]] = []
    for key in keys:
        if students[key].extra.get("canvas_columns"):
            columns = [tuple(c) for c in json.loads(students[key].extra["canvas_columns"])]
            break
    titles, points = [], []
    for a in aids:
        hit = _match_canvas(a, columns) if columns else None
        if hit is None:
            titles.append(a)
            points.append(_two(maxes[a]))
            if columns:
                warn.append(f"Canvas: no column of the roster's gradebook is {a!r}: the import creates a new "
                            f"assignment {a!r} ({maxes[a]:g} points)")
        else:
            titles.append(hit[0])
            points.append(hit[1] or _two(maxes[a]))      # Canvas's own points possible: the import keeps it
            try:
                if hit[1] and abs(float(hit[1].replace(",", ".")) - maxes[a]) > 1e-9:
                    warn.append(f"Canvas: {hit[0]!r} is worth {hit[1]} points in Canvas, {maxes[a]:g} here: "
                                "scores are points out of the notebook's maximum; fix the points in Canvas first")
            except ValueError:
                pass
    rows = [[*CANVAS_IDENTITY, *titles], [CANVAS_POINTS, "", "", "", "", *points]]
    for key in keys:
        s = students[key]
        now = json.loads(s.extra.get("canvas_cells") or "{}")
        row = [display_name(s), key, s.extra.get("canvas_sis_user_id", ""), s.extra.get("canvas_sis_login_id", ""),
               s.extra.get("canvas_section", "")]
        for a, title in zip(aids, titles):
            sc = cells[(key, a)].score
            row.append(_two(sc) if sc is not None else now.get(title, ""))
        rows.append(row)
    return _write_csv(path, rows)


# ---------------------------------------------------------------------------------------------
# Moodle
def _comment(cell: _Cell, mx: float) -> str:
    r = cell.record
    if cell.score is not None:
        text = f"Graded automatically: {cell.score:g} of {mx:g} points. Your feedback page explains each exercise."
        return text + (" Flagged for review: your instructor will look at it." if r is not None and r.tampering else "")
    return f"Not graded automatically ({cell.reason}). Your instructor will look at it." if cell.handed_in else ""


def _moodle_worksheet(path: Path, aid: str, mx: float, students, keys, cells, now: str) -> Path:
    rows = [list(WORKSHEET_HEADER)]
    for key in keys:
        s, c = students[key], cells[(key, aid)]
        x = s.extra
        when = c.record.timestamp if c.record is not None and c.record.timestamp else None
        submitted = x.get("moodle_last_modified_submission") or (
            _moodle_date(datetime.fromisoformat(when)) if when else "-")
        status = x.get("moodle_status") or ("Submitted for grading" if c.handed_in else "No submission")
        comment = x.get("moodle_feedback_comments") or _comment(c, mx)
        rows.append([f"{MOODLE_PARTICIPANT}{key}", display_name(s), s.email, status,
                     "" if c.score is None else _two(c.score), _two(mx), x.get("moodle_grade_can_be_changed") or "Yes",
                     submitted, x.get("moodle_last_modified_grade") or now, comment])
    return _write_csv(path, rows)


def _moodle_gradebook(path: Path, aid: str, students, keys, cells, warn: list[str]) -> Path | None:
    rows, skipped = [[*MOODLE_GRADEBOOK_HEADER, aid]], []
    for key in keys:
        s, c = students[key], cells[(key, aid)]
        if c.score is None:
            continue
        if not s.email:
            skipped.append(display_name(s))
            continue
        rows.append([s.email, s.extra.get("moodle_id_number", ""), display_name(s), _two(c.score)])
    if skipped:
        warn.append(f"Moodle gradebook import of {aid}: no email for {', '.join(skipped)} (give a roster with emails); "
                    "their grades are in the grading worksheet")
    if len(rows) == 1:
        return None
    return _write_csv(path, rows)


HELP = """\
Uploading these grades
======================

Blank means "not graded" (see the notes column of grades.csv), never 0.

Canvas: canvas_gradebook_import.csv
  Grades > Import (Canvas Instructor Guide: "How do I import grades in the Gradebook?").
  Rows are matched by the ID column (Canvas user id), columns by the "(id)" in their titles,
  else by title (an unknown title creates an assignment). Canvas lists every change before it
  applies any: check it. Give the gradebook export (Grades > Export) as --roster to reuse its
  column titles, sections and SIS ids, and to leave cells we did not grade as Canvas has them.

Moodle: moodle_grading_worksheet_<assignment>.csv
  In the assignment: View all submissions > Grading action > Upload grading worksheet (needs the
  "Offline grading worksheet" feedback type; docs.moodle.org: Assignment settings). Identifier
  "Participant <id>" is the id in the submissions' folder names, which is per assignment. A blank
  grade is skipped; a grade changed in Moodle after "Last modified (grade)" is kept unless you tick
  "Allow updating records that have been modified more recently in Moodle than in the spreadsheet".
  Give the downloaded worksheet as --roster to keep its times, statuses and comments.

Moodle: moodle_gradebook_import_<assignment>.csv (graded hand-ins with an email only)
  Gradebook > Import > CSV file (docs.moodle.org: Grade import). Map from "Email address" to
  "Email address", and the assignment's column to its grade item.
"""


def write_sheets(out: Path, aids: list[str], releases: dict, students: dict[str, Student],
                 records: dict[tuple[str, str], Record], problems: list[tuple[str | None, str | None, str]],
                 tamper_zero: bool, *, now: datetime | None = None) -> list[Path]:
    """Write ``grades.csv`` and the import files of the LMS the students came from (see the module
    docstring); returns the files written. ``now`` stamps a Moodle worksheet's grade times."""
    from ..course import graded_cells, nbgrader_meta

    out = Path(out)
    maxes = {a: sum(float(nbgrader_meta(c).get("points", 0)) for c in graded_cells(releases[a]).values())
             for a in aids}
    order = sorted(students, key=_natural)
    cells = _cells(aids, students, records, problems, tamper_zero)
    for old in [out / CANVAS_FILE, out / HELP_FILE, *out.glob("moodle_grading_worksheet_*.csv"),
                *out.glob("moodle_gradebook_import_*.csv")]:
        old.unlink(missing_ok=True)
    written = [_grades_csv(out / "grades.csv", aids, maxes, students, order, cells)]
    warn: list[str] = []
    canvas = [k for k in order if _lms(students[k]) == "canvas"]
    moodle = [k for k in order if _lms(students[k]) == "moodle"]
    if canvas:
        written.append(_canvas(out / CANVAS_FILE, aids, maxes, students, canvas, cells, warn))
    if moodle:
        stamp = _moodle_date(now or datetime.now())
        for a in aids:
            written.append(_moodle_worksheet(out / MOODLE_WORKSHEET.format(aid=a), a, maxes[a], students, moodle,
                                             cells, stamp))
            gb = _moodle_gradebook(out / MOODLE_GRADEBOOK.format(aid=a), a, students, moodle, cells, warn)
            if gb:
                written.append(gb)
    others = [k for k in order if not _lms(students[k])]
    if others and (canvas or moodle):
        warn.append(f"{len(others)} student(s) are not from the LMS (no Canvas or Moodle id): they are in grades.csv "
                    f"only ({', '.join(others[:5])}{' ...' if len(others) > 5 else ''})")
    if canvas or moodle:
        text = HELP + ("\nCheck first\n===========\n" + "\n".join(f"- {w}" for w in warn) + "\n" if warn else "")
        (out / HELP_FILE).write_text(text, encoding="utf-8")
        written.append(out / HELP_FILE)
    return written
