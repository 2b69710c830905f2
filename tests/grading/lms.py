"""The LMS classes of ``tests/grading/fixtures``, graded once per test run through the real pipeline.

``graded("canvas")`` grades the Canvas submissions with the Canvas gradebook export as roster,
``graded("moodle")`` the Moodle submissions with the Moodle grading worksheet as roster (notebook
01, in the sandbox where it works). The hand-ins are the fixture zips unpacked into a folder, as
an instructor who unzips the download has them (entry names and times kept): the grading, ids
and sheets are tested here, and that a zip reads exactly like its folder is tested on its own
(``test_sheets.test_the_lms_zips_read_like_their_folders``), without grading. Each is graded once per test run, shared by the test modules and
xdist workers that ask for it (a lock and a folder beside pytest's base temp), and returns the
output folder. The sheet, output and browser tests read the same graded classes.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

from autograder.grading.sandbox import Limits, probe

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AID = "01-chain-rule"
# Roomier than the default per-cell 30 s: these tests are about ids and sheets, and a loaded shared machine
# must not turn a correct hand-in into a timed-out one (a kernel's first matplotlib import builds its font
# cache inside the sandbox).
LIMITS = Limits(cell_timeout=120, wall_seconds=900)
CLASSES = {
    "canvas": (FIXTURES / "BP101-01-chain-rule_submissions.zip", FIXTURES / "canvas_gradebook_export.csv"),
    "moodle": (FIXTURES / "BP101-01-chain-rule-4242.zip", FIXTURES / "Grades-BP101-01-chain-rule-4242.csv"),
}


def shared_dir(tmp_path_factory) -> Path:
    """A folder every xdist worker of this test run sees (the parent of the workers' base temps)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def unpack(zip_path: Path, dest: Path) -> Path:
    """The zip's entries as files under ``dest``, with their names and times."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(target, (stamp, stamp))
    return dest


def graded(kind: str, tmp_path_factory) -> Path:
    """The output folder of the ``kind`` class ("canvas" or "moodle"), graded on first use."""
    from autograder.grading.pipeline import run

    export, roster = CLASSES[kind]
    root = shared_dir(tmp_path_factory) / f"lms-{kind}"
    with locked(root.parent / f"lms-{kind}.lock"):
        done = root / "done.json"
        if not done.exists():
            t0 = time.monotonic()
            folder = unpack(export, root / "export")
            summary = run(folder, root / "out", jobs=2, only=[AID], sandbox=probe()[0], quiet=True, roster=roster,
                          limits=LIMITS)
            done.write_text(json.dumps({"elapsed": time.monotonic() - t0, "graded_now": summary.graded_now}))
    return root / "out"


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def by_column(rows: list[list[str]], column: str) -> dict[str, dict[str, str]]:
    """Rows (after the header) as dicts, keyed by one column."""
    head = rows[0]
    return {r[head.index(column)]: dict(zip(head, r)) for r in rows[1:]}
