"""The LMS classes of ``tests/grading/fixtures``, graded once per test run through the real pipeline.

``graded("canvas")`` grades the Canvas submissions zip with the Canvas gradebook export as roster,
``graded("moodle")`` the Moodle zip with the Moodle grading worksheet as roster (notebook 01, in
the sandbox where it works). Each is graded once per test run, shared by the test modules and
xdist workers that ask for it (a lock and a folder beside pytest's base temp), and returns the
output folder. The sheet, output and browser tests read the same graded classes.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from autograder.grading.sandbox import probe

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AID = "01-chain-rule"
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


def graded(kind: str, tmp_path_factory) -> Path:
    """The output folder of the ``kind`` class ("canvas" or "moodle"), graded on first use."""
    from autograder.grading.pipeline import run

    export, roster = CLASSES[kind]
    root = shared_dir(tmp_path_factory) / f"lms-{kind}"
    with locked(root.parent / f"lms-{kind}.lock"):
        done = root / "done.json"
        if not done.exists():
            t0 = time.monotonic()
            summary = run(export, root / "out", jobs=2, only=[AID], sandbox=probe()[0], quiet=True, roster=roster)
            done.write_text(json.dumps({"elapsed": time.monotonic() - t0, "graded_now": summary.graded_now}))
    return root / "out"


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def by_column(rows: list[list[str]], column: str) -> dict[str, dict[str, str]]:
    """Rows (after the header) as dicts, keyed by one column."""
    head = rows[0]
    return {r[head.index(column)]: dict(zip(head, r)) for r in rows[1:]}
