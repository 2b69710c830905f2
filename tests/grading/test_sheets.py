"""Grade sheets an LMS accepts: blank (never 0) when not graded, the LMS's own ids and emails,
Canvas's gradebook import and Moodle's grading worksheet, read back the way each LMS reads them.

Unit tests write sheets from hand-made records (fast); the end-to-end tests grade the documented
Canvas and Moodle classes of ``tests/grading/fixtures`` through the real pipeline, with the LMS's
own export as roster (``tests/grading/lms.py``), and read what reaches the sheets.
"""

from __future__ import annotations

import re
from datetime import datetime

import nbformat
import pytest

from autograder.grading.pipeline import GradeError
from autograder.grading.records import Flag, Record, Student
from autograder.grading.sheets import (
    CANVAS_FILE,
    MOODLE_GRADEBOOK,
    MOODLE_WORKSHEET,
    WORKSHEET_HEADER,
    read_roster,
    write_sheets,
)
from tests.grading.lms import AID, CLASSES, FIXTURES, by_column, graded, read_csv, unpack

# ---------------------------------------------------------------------------------------------
# The formats as the LMSs read them (their code is the reference; see autograder/grading/sheets.py)

# Canvas app/models/gradebook_importer.rb: reserved and non-assignment column names, Assignment.title_and_id
CANVAS_RESERVED = ["Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Section",
                   "Integration ID", "Root Account"]
CANVAS_NON_ASSIGNMENT = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                                   "Override Score|Override Grade|Override Status")
# Moodle mod/assign/lang/en/assign.php + core strings, in gradingtable.php's order (comments plugin on)
MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]


def canvas_read(rows: list[list[str]]) -> dict:
    """A Canvas gradebook CSV read as GradebookImporter reads it: header check, student columns up to
    Section, assignment columns by ``title (id)``, the Points Possible and posting rows skipped,
    students by their ``ID``."""
    head = rows[0]
    assert len(head) > 3 and "Student" in head[0] and "ID" in head[1], "Canvas: invalid header row"
    n = 3
    if re.search(r"SIS\s+Login\s+ID", head[2]):
        n += 1
    elif re.search(r"SIS\s+User\s+ID", head[2]) and re.search(r"SIS\s+Login\s+ID", head[3]):
        n += 2
    assert "Section" in head[n - 1], "Canvas: the last student column must be Section"
    titles = [h for h in head[n:] if not CANVAS_NON_ASSIGNMENT.search(h)]
    assignments = [re.match(r"\A(.*)\s\((\d+)\)\Z", t).groups() if re.match(r"\A(.*)\s\((\d+)\)\Z", t) else (t, None)
                   for t in titles]
    points, students = {}, {}
    for r in rows[1:]:
        if "Points Possible" in r[0]:
            points = {t: r[head.index(t)] for t in titles}
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.IGNORECASE) for c in r if c):
            continue
        students[r[1]] = {"name": r[0], **{t: r[head.index(t)].strip() for t in titles}}
    return {"titles": titles, "assignments": assignments, "points": points, "students": students}


def moodle_read(rows: list[list[str]]) -> dict[str, dict]:
    """A grading worksheet read as assignfeedback_offline_grade_importer reads it: the Identifier,
    Grade and Last modified (grade) columns found by name (else the import fails), the participant id
    after "Participant "."""
    head = rows[0]
    for needed in ("Identifier", "Grade", "Last modified (grade)"):
        assert needed in head, f"Moodle: no {needed!r} column: the import fails"
    out = {}
    for r in rows[1:]:
        ident = r[head.index("Identifier")]
        out[ident[len("Participant "):]] = {"grade": r[head.index("Grade")],
                                            "modified": r[head.index("Last modified (grade)")],
                                            **dict(zip(head, r))}
    return out


def moodle_time(text: str) -> datetime:
    """userdate()'s default format, as strtotime reads it back."""
    return datetime.strptime(text, "%A, %d %B %Y, %I:%M %p")


# ---------------------------------------------------------------------------------------------
# unit tests on hand-made records
def release(points: dict[str, float]) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell("check()", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": p, "grade_id": g}}) for g, p in points.items()]
    return nbformat.v4.new_notebook(cells=cells)


A, B = "01-chain-rule", "02-computational-graphs"
RELEASES = {A: release({"ex01_a_tests": 3, "ex01_b_tests": 2}), B: release({"ex02_a_tests": 4})}


def rec(s: Student, aid: str, score: float | None, reason: str = "", **kw) -> Record:
    if score is None:
        return Record(s, aid, "k", reason=reason, **kw)
    return Record(s, aid, "k", status="graded", score=score, max_score=5.0, **kw)


@pytest.fixture
def klass():
    """Four Canvas students: graded, not graded (a reason), a hand-in the export could not read, and
    one with no hand-in at all; two of them share a name; names in three scripts."""
    st = {k: Student(k, n, e, source="canvas") for k, n, e in [
        ("101", "Lovelace, Ada", "ada@example.edu"), ("102", "Smith, John", "js1@example.edu"),
        ("103", "Smith, John", "js2@example.edu"), ("104", "Чебышёв, Пафнутий", ""), ("105", "王芳", "wf@example.edu")]}
    records = {("101", A): rec(st["101"], A, 4.5), ("101", B): rec(st["101"], B, 4.0),
               ("102", A): rec(st["102"], A, None, "invalid notebook JSON"),
               ("103", A): rec(st["103"], A, 0.0),
               ("105", A): rec(st["105"], A, 5.0, flags=[Flag("tampering", "ex01_a_tests", "imports inspect", 1,
                                                               "import inspect")])}
    problems = [("104", A, "104_x_01-chain-rule.ipynb: a notebook of 30 MB, more than the 20 MB accepted")]
    return st, records, problems


def test_grades_csv_is_blank_never_zero_when_not_graded(tmp_path, klass):
    st, records, problems = klass
    write_sheets(tmp_path, [A, B], RELEASES, st, records, problems, tamper_zero=True)
    rows = by_column(read_csv(tmp_path / "grades.csv"), "student")
    assert read_csv(tmp_path / "grades.csv")[0] == ["student", "name", "email", A, B, "total", "max_total", "notes"]
    assert (rows["101"][A], rows["101"][B], rows["101"]["total"]) == ("4.5", "4", "8.5")
    assert rows["102"][A] == "" and "NOT GRADED (invalid notebook JSON)" in rows["102"]["notes"]
    assert rows["102"][B] == "" and f"{B}: NOT GRADED (no hand-in)" in rows["102"]["notes"]
    assert rows["102"]["total"] == "", "a total of nothing graded is blank, not 0"
    assert rows["104"][A] == "" and "30 MB" in rows["104"]["notes"]
    assert rows["103"][A] == "0", "a graded 0 is a 0"
    assert rows["105"][A] == "0" and "FLAGGED FOR REVIEW" in rows["105"]["notes"]
    assert all(r["max_total"] == "9" for r in rows.values())
    assert "at at" not in (tmp_path / "grades.csv").read_text()


def test_same_name_different_ids_stay_two_rows_and_names_stay_utf8(tmp_path, klass):
    st, records, problems = klass
    write_sheets(tmp_path, [A, B], RELEASES, st, records, problems, tamper_zero=True)
    raw = (tmp_path / "grades.csv").read_bytes().decode("utf-8")
    rows = read_csv(tmp_path / "grades.csv")
    assert [r[0] for r in rows[1:]] == ["101", "102", "103", "104", "105"]
    assert [r[1] for r in rows[1:]].count("Smith, John") == 2
    assert "Чебышёв, Пафнутий" in raw and "王芳" in raw
    canvas = canvas_read(read_csv(tmp_path / CANVAS_FILE))
    assert canvas["students"]["104"]["name"] == "Чебышёв, Пафнутий" and canvas["students"]["105"]["name"] == "王芳"


def test_canvas_import_has_canvas_columns_and_reads_back(tmp_path, klass):
    st, records, problems = klass
    written = write_sheets(tmp_path, [A, B], RELEASES, st, records, problems, tamper_zero=True)
    assert tmp_path / CANVAS_FILE in written
    rows = read_csv(tmp_path / CANVAS_FILE)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A, B]
    assert rows[1][0] == "    Points Possible" and rows[1][5:] == ["5.00", "4.00"]
    got = canvas_read(rows)
    assert got["assignments"] == [(A, None), (B, None)], "no Canvas ids without a Canvas roster: matched by title"
    assert got["points"] == {A: "5.00", B: "4.00"}
    assert got["students"]["101"][A] == "4.50" and got["students"]["101"][B] == "4.00"
    assert got["students"]["102"][A] == "" and got["students"]["104"][A] == "", "not graded: blank, never 0"
    assert set(got["students"]) == set(st)
    assert not list(tmp_path.glob("moodle_*")), "no Moodle files for a Canvas class"


def test_canvas_roster_reuses_its_columns_ids_and_leaves_ungraded_cells_as_canvas_has_them(tmp_path):
    roster = {s.key: s for s in read_roster(FIXTURES / "canvas_gradebook_export.csv")}
    other = "07-losses"
    releases = {A: release({"ex01_a_tests": 6, "ex01_b_tests": 4}), other: release({"ex07_a_tests": 9})}
    records = {("1011", A): rec(roster["1011"], A, 9.25), ("1018", other): rec(roster["1018"], other, 3.0),
               ("1016", A): rec(roster["1016"], A, None, "invalid notebook JSON")}
    write_sheets(tmp_path, [A, other], releases, roster, records, [], tamper_zero=True)
    rows = read_csv(tmp_path / CANVAS_FILE)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01-chain-rule (12345)", other]
    got = canvas_read(rows)
    assert got["assignments"] == [("01-chain-rule", "12345"), (other, None)]
    assert got["points"] == {"01-chain-rule (12345)": "10.00", other: "9.00"}
    ada, emmy, bob = (got["students"][k] for k in ("1011", "1018", "1016"))
    assert ada["01-chain-rule (12345)"] == "9.25" and ada["name"] == "Lovelace, Ada"
    assert emmy["01-chain-rule (12345)"] == "7.00", "a score entered in Canvas stays as Canvas has it"
    assert emmy[other] == "3.00"
    assert bob["01-chain-rule (12345)"] == "", "not graded, and nothing in Canvas: blank"
    by_id = {r[1]: r for r in rows[2:]}
    assert by_id["1011"][2:5] == ["S1011", "ada.lovelace@example.edu", "BP101 Section A"]
    assert "1099" in by_id, "Canvas's test student comes back as it went out"
    help_text = (tmp_path / "lms_import.txt").read_text()
    assert "no column of the roster's gradebook is '07-losses'" in help_text
    grades = by_column(read_csv(tmp_path / "grades.csv"), "student")
    assert grades["1018"][A] == "", "grades.csv says what WE graded: blank"


def test_moodle_worksheet_has_moodles_columns_and_reads_back(tmp_path):
    st = {k: Student(k, n, e, source="moodle") for k, n, e in [
        ("123456", "Ada Lovelace", "ada@example.edu"), ("123457", "Li Wei", "li@example.edu"),
        ("123458", "Li Wei", ""), ("123459", "王芳", "wf@example.edu")]}
    when = "2025-03-01 12:00:00"
    records = {("123456", A): rec(st["123456"], A, 5.0, timestamp=when),
               ("123457", A): rec(st["123457"], A, None, "invalid notebook JSON", timestamp=when),
               ("123458", A): rec(st["123458"], A, 2.5, timestamp=when)}
    now = datetime(2025, 3, 4, 9, 5)
    write_sheets(tmp_path, [A], RELEASES, st, records, [], tamper_zero=True, now=now)
    rows = read_csv(tmp_path / MOODLE_WORKSHEET.format(aid=A))
    assert rows[0] == MOODLE_HEADER == WORKSHEET_HEADER
    got = moodle_read(rows)
    assert set(got) == set(st)
    assert got["123456"]["grade"] == "5.00" and got["123456"]["Maximum Grade"] == "5.00"
    assert got["123457"]["grade"] == "", "not graded: blank (Moodle skips a blank grade)"
    assert got["123459"]["grade"] == "" and got["123459"]["Status"] == "No submission"
    assert moodle_time(got["123456"]["modified"]) == now
    assert moodle_time(got["123456"]["Last modified (submission)"]) == datetime(2025, 3, 1, 12, 0)
    assert got["123457"]["Full name"] == "Li Wei" and got["123458"]["Full name"] == "Li Wei"
    assert "Not graded automatically (invalid notebook JSON)" in got["123457"]["Feedback comments"]
    gradebook = read_csv(tmp_path / MOODLE_GRADEBOOK.format(aid=A))
    assert gradebook[0] == ["Email address", "ID number", "Full name", A]
    assert [r[0] for r in gradebook[1:]] == ["ada@example.edu"], "only graded hand-ins with an email"
    assert "no email for Li Wei" in (tmp_path / "lms_import.txt").read_text()
    assert not (tmp_path / CANVAS_FILE).exists()


def test_moodle_roster_keeps_moodles_times_statuses_and_comments(tmp_path):
    roster = {s.key: s for s in read_roster(FIXTURES / "Grades-BP101-01-chain-rule-4242.csv")}
    records = {("123456", A): rec(roster["123456"], A, 4.0)}
    write_sheets(tmp_path, [A], RELEASES, roster, records, [], tamper_zero=True, now=datetime(2025, 3, 4, 9, 5))
    got = moodle_read(read_csv(tmp_path / MOODLE_WORKSHEET.format(aid=A)))
    assert got["123456"]["grade"] == "4.00" and got["123456"]["modified"] == "-", "Moodle's own time, kept"
    emmy = got["123460"]
    assert emmy["grade"] == "" and emmy["modified"] == "Sunday, 2 March 2025, 10:00 AM"
    assert emmy["Feedback comments"] == "Handed in on paper; graded by hand."
    assert emmy["Status"] == "Submitted for grading - Graded"
    assert got["123461"]["Full name"] == "Zoë Ångström"


def test_read_roster_reads_canvas_moodle_and_plain(tmp_path):
    canvas = {s.key: s for s in read_roster(FIXTURES / "canvas_gradebook_export.csv")}
    assert set(canvas) == {"1011", "1012", "1013", "1014", "1015", "1016", "1017", "1018", "1099"}
    assert canvas["1014"].name == "Чебышёв, Пафнутий" and canvas["1014"].email == "pafnuty.chebyshev@example.edu"
    assert canvas["1012"].name == canvas["1013"].name == "Smith, John"
    assert canvas["1012"].extra["canvas_sis_user_id"] == "S1012" and canvas["1013"].extra["canvas_section"] == \
        "BP101 Section B"
    moodle = {s.key: s for s in read_roster(FIXTURES / "Grades-BP101-01-chain-rule-4242.csv")}
    assert set(moodle) == {"123456", "123457", "123458", "123459", "123460", "123461"}
    assert moodle["123459"].name == "王芳" and moodle["123459"].email == "wang.fang@example.edu"
    plain = {s.key: s for s in read_roster(FIXTURES / "roster.csv")}
    assert plain["li-2"].name == "Li Wei" and plain["li-2"].email == "wei.li@example.edu"
    # Canvas in a locale that writes ';' and decimal commas
    semi = tmp_path / "export.csv"
    semi.write_text((FIXTURES / "canvas_gradebook_export.csv").read_text(encoding="utf-8").replace(",", ";"),
                    encoding="utf-8")
    assert {s.key for s in read_roster(semi)} == set(canvas)


@pytest.mark.parametrize("text, message", [
    ("name,score\nAda,3\n", "has no 'id' column"),
    ("id,name,email\n7,Ada,a@x\n7,Bob,b@x\n", "ambiguous: id '7'"),
    ("id,name,email\n", "no student rows"),
], ids=["unknown format", "one id twice", "no students"])
def test_an_unreadable_roster_is_one_clear_line(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(GradeError, match=re.escape(message)) as exc:
        read_roster(path)
    assert "\n" not in str(exc.value)


def test_the_lms_zips_read_like_their_folders(tmp_path):
    """A download reads the same zipped as unzipped: the same hand-ins under the same keys and names,
    byte for byte, and nothing unreadable (the end-to-end tests below grade the unzipped folders)."""
    from autograder.course import COURSE, answer_cells, notebook_path
    from autograder.grading.export import read_export

    ids = {AID: set(answer_cells(nbformat.read(str(notebook_path(AID, COURSE)), as_version=4)))}
    for kind, (zipped, _) in CLASSES.items():
        from_zip = read_export(zipped, [AID], ids)
        from_folder = read_export(unpack(zipped, tmp_path / kind), [AID], ids)
        assert from_zip.problems == [] == from_folder.problems, from_zip.problems[:2]
        assert {k: (h.student.name, h.data) for k, h in from_zip.handins.items()} == \
               {k: (h.student.name, h.data) for k, h in from_folder.handins.items()}


# ---------------------------------------------------------------------------------------------
# end to end: the documented LMS classes through the real pipeline
pipeline = pytest.mark.xdist_group("lms-class")


@pipeline
def test_canvas_ids_and_emails_reach_the_sheets(tmp_path_factory):
    out = graded("canvas", tmp_path_factory)
    grades = by_column(read_csv(out / "grades.csv"), "student")
    for key in ("1011", "1012", "1013", "1014", "1015", "1016"):
        assert key in grades, f"Canvas user {key} is not a row of grades.csv: {sorted(grades)}"
    assert grades["1011"]["email"] == "ada.lovelace@example.edu" and grades["1011"][AID] == "10"
    assert (grades["1012"]["name"], grades["1013"]["name"]) == ("Smith, John", "Smith, John")
    assert float(grades["1012"][AID]) < 10 and grades["1013"][AID] == "0", "two students of one name, two hand-ins"
    assert grades["1014"]["name"] == "Чебышёв, Пафнутий" and grades["1014"][AID] == "10"
    assert grades["1016"][AID] == "" and "NOT GRADED (invalid notebook JSON" in grades["1016"]["notes"]
    assert grades["1018"][AID] == "" and "no hand-in" in grades["1018"]["notes"]
    assert "FLAGGED FOR REVIEW" in grades["1015"]["notes"]
    canvas = canvas_read(read_csv(out / CANVAS_FILE))
    col = "01-chain-rule (12345)"
    assert canvas["titles"] == [col] and canvas["points"] == {col: "10.00"}
    assert canvas["students"]["1011"][col] == "10.00" and canvas["students"]["1016"][col] == ""
    assert canvas["students"]["1018"][col] == "7.00"


@pipeline
def test_a_late_canvas_hand_in_keeps_its_canvas_id(tmp_path_factory):
    """Canvas lower-cases the whole file-name prefix: a late hand-in is ``<name>_late_<id>_...``."""
    grades = by_column(read_csv(graded("canvas", tmp_path_factory) / "grades.csv"), "student")
    assert set(grades) <= {"1011", "1012", "1013", "1014", "1015", "1016", "1017", "1018", "1099"}, \
        f"a hand-in reached the sheet under a name instead of its Canvas id: {sorted(grades)}"
    assert "NOT GRADED (invalid notebook JSON" in grades["1017"]["notes"]


@pipeline
def test_moodle_ids_and_emails_reach_the_sheets(tmp_path_factory):
    out = graded("moodle", tmp_path_factory)
    grades = by_column(read_csv(out / "grades.csv"), "student")
    assert set(grades) == {"123456", "123457", "123458", "123459", "123460", "123461"}
    assert grades["123456"]["email"] == "ada.lovelace@example.edu" and grades["123456"][AID] == "10"
    assert (grades["123457"]["name"], grades["123458"]["name"]) == ("Li Wei", "Li Wei")
    assert float(grades["123457"][AID]) < 10 and grades["123458"][AID] == ""
    assert grades["123459"]["name"] == "王芳" and grades["123459"][AID] == ""
    sheet = moodle_read(read_csv(out / MOODLE_WORKSHEET.format(aid=AID)))
    assert sheet["123456"]["grade"] == "10.00" and sheet["123458"]["grade"] == ""
    assert sheet["123460"]["modified"] == "Sunday, 2 March 2025, 10:00 AM"
    gradebook = read_csv(out / MOODLE_GRADEBOOK.format(aid=AID))
    assert {r[0] for r in gradebook[1:]} == {"ada.lovelace@example.edu", "li.wei@example.edu"}
