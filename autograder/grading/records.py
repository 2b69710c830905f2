"""The records a hand-in passes through, from the export to the grade sheet.

``Student`` (who, by the LMS's own id) → ``Handin`` (one notebook file of one student for one
assignment, as the export holds it) → ``Job`` (a hand-in queued for a worker: where its
bytes and outputs live, how to grade it) → ``Record`` (the graded outcome: per test cell the
trusted score with its parts, flags for review, notes). A ``Record`` is written to and read
from ``result.json`` here and nowhere else.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Flag", "Handin", "Job", "PartScore", "Record", "Student", "TestResult"]

RECORD_VERSION = 2


@dataclass
class Student:
    """A student, keyed by the LMS's own id (Canvas user id, Moodle participant id, the
    nbgrader student folder); the name is only for display (UTF-8, any script)."""

    key: str
    name: str = ""
    email: str = ""
    source: str = ""                 # "canvas", "moodle", "nbgrader", "files"
    extra: dict[str, str] = field(default_factory=dict)   # e.g. Canvas SIS ids, section

    @property
    def display(self) -> str:
        return self.name or self.key


@dataclass
class Handin:
    student: Student
    aid: str
    data: bytes
    origin: str                      # the entry's name in the export
    timestamp: str | None = None     # ISO time of the hand-in (zip entry or file)
    notes: list[str] = field(default_factory=list)


@dataclass
class Job:
    """One hand-in queued for a worker (everything it needs, as data)."""

    aid: str
    student: Student
    inbox: str                       # the hand-in's bytes, written by the pipeline
    result_dir: str                  # where the worker writes result.json, graded.ipynb, feedback.html
    work_dir: str                    # scratch for the run; removed afterwards
    release_dir: str                 # the release of the assignment (notebook and data files)
    key: str                         # cache key: hand-in, release, options, pipeline version
    seed: int                        # hidden cases are drawn from this (never in the notebook or the library)
    limits: str                      # sandbox.Limits as JSON
    sandbox: bool = True
    tamper_zero: bool = True
    checks: str = "trusted"          # "trusted"; "kernel" runs the test cells in the kernel (benchmark only)
    origin: str = ""
    timestamp: str | None = None
    notes: list[str] = field(default_factory=list)
    candidates: dict[str, list[str]] = field(default_factory=dict)   # other assignments' answer ids
    mpl_config: str = ""             # a prebuilt matplotlib font cache, copied into the sandbox's home

    @property
    def job_id(self) -> str:
        return f"{self.aid}/{self.student.key}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Job:
        d = json.loads(text)
        d["student"] = Student(**d["student"])
        return cls(**d)


@dataclass
class PartScore:
    name: str
    points: float
    earned: float
    message: str = ""


@dataclass
class TestResult:
    """The trusted verdict on one test cell."""

    __test__ = False  # not a pytest class

    grade_id: str
    score: float
    max_score: float
    message: str = ""                # the first failure, one line ("" when it passed)
    kinds: list[str] = field(default_factory=list)        # diagnosis tags of the failures
    parts: list[PartScore] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)       # {visible, ok, kind, message}, capped

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass
class Flag:
    """Something for the instructor to review. ``kind``: "tampering" (the answer reaches for
    the grader's or the kernel's internals, or the library's own answer), "crash", "timeout"."""

    kind: str
    where: str                       # grade_id of the cell, or "" for the hand-in
    message: str
    line: int | None = None
    code: str = ""

    def __str__(self) -> str:
        at = f"{self.where}, line {self.line}: `{self.code}` — " if self.line else (f"{self.where}: " if self.where else "")
        return at + self.message


@dataclass
class Record:
    """One graded hand-in."""

    student: Student
    aid: str
    key: str
    status: str = "not graded"       # "graded" or "not graded"
    reason: str = ""                 # why not graded
    score: float | None = None       # None (blank on the sheet) when not graded
    max_score: float = 0.0
    tests: dict[str, TestResult] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    origin: str = ""
    timestamp: str | None = None
    seed: int = 0
    elapsed: float = 0.0
    version: int = RECORD_VERSION

    @property
    def graded(self) -> bool:
        return self.status == "graded"

    @property
    def tampering(self) -> list[Flag]:
        return [f for f in self.flags if f.kind == "tampering"]

    def counted_score(self, tamper_zero: bool) -> float | None:
        """The score that goes on the grade sheet (None: blank, not graded)."""
        if not self.graded:
            return None
        return 0.0 if tamper_zero and self.tampering else float(self.score or 0.0)

    # -- the one place a record is written and read --------------------------------------------
    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "result.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1, sort_keys=True, ensure_ascii=False))
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, folder: Path) -> Record | None:
        try:
            d = json.loads((folder / "result.json").read_text())
        except (OSError, ValueError):
            return None
        if d.get("version") != RECORD_VERSION:
            return None
        d["student"] = Student(**d["student"])
        d["tests"] = {k: TestResult(**{**t, "parts": [PartScore(**p) for p in t.get("parts", [])]})
                      for k, t in d.get("tests", {}).items()}
        d["flags"] = [Flag(**f) for f in d.get("flags", [])]
        return cls(**d)

    @classmethod
    def not_graded(cls, job: Job, reason: str, **kw) -> Record:
        return cls(student=job.student, aid=job.aid, key=job.key, reason=reason, origin=job.origin,
                   timestamp=job.timestamp, notes=list(job.notes), seed=job.seed, **kw)
