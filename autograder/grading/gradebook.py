"""The class gradebook: nbgrader's own, written from the records by this one process.

Students are nbgrader students keyed by their LMS id (name and email kept, ``lms_user_id``
set); every graded test cell gets the trusted score as its ``auto_score``; a hand-in that could
not be graded is marked *needs manual grade* with no score; a flagged hand-in gets a manual
score of 0 when the policy says so. A late hand-in gets nbgrader's late-submission penalty,
computed as nbgrader's ``AssignLatePenalties`` would.

Only records that changed since the last run are written (``work/gradebook.json`` remembers
what the gradebook holds); a new template (changed assignments) rebuilds it from scratch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from datetime import datetime
from pathlib import Path

from .records import Record, Student

__all__ = ["write_gradebook"]


def _fingerprint(r: Record, s: Student, tamper_zero: bool) -> str:
    return hashlib.sha256(json.dumps([r.key, r.status, r.score, [f.kind for f in r.flags], tamper_zero,
                                      s.name, s.email, r.timestamp], sort_keys=True).encode()).hexdigest()[:24]


def _names(s: Student) -> tuple[str, str]:
    name = s.name or s.key
    if "," in name:  # "Last, First"
        last, first = (p.strip() for p in name.split(",", 1))
        return first, last
    first, _, last = name.partition(" ")
    return first, last


def write_gradebook(out: Path, template: Path, students: dict[str, Student], records: dict[tuple[str, str], Record],
                    tamper_zero: bool, quiet: bool = False) -> Path:
    """Bring ``out/gradebook.db`` up to date with ``records``; see the module docstring."""
    from nbgrader.api import Gradebook

    from .pipeline import Progress

    db = out / "gradebook.db"
    manifest_path = out / "work" / "gradebook.json"
    template_hash = hashlib.sha256(template.read_bytes()).hexdigest()[:24]
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    if not db.exists() or manifest.get("template") != template_hash:
        manifest = {"template": template_hash, "records": {}, "students": []}
        tmp = out / "work" / "gradebook.tmp.db"
        shutil.copy(template, tmp)
        os.replace(tmp, db)
    want = {f"{k}/{a}": _fingerprint(r, students.get(k, r.student), tamper_zero) for (k, a), r in records.items()}
    changed = [(k, a) for (k, a) in sorted(records) if manifest["records"].get(f"{k}/{a}") != want[f"{k}/{a}"]]
    new_students = sorted(set(students) - set(manifest.get("students", [])))
    if not changed and not new_students:
        return db
    bar = Progress(len(changed), "gradebook", quiet or len(changed) < 20)
    with Gradebook(f"sqlite:///{db}") as gb, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")
        from nbgrader.plugins import LateSubmissionPlugin

        late = LateSubmissionPlugin()
        for key in new_students:
            s = students[key]
            first, last = _names(s)
            gb.update_or_create_student(key, first_name=first, last_name=last, email=s.email or None,
                                        lms_user_id=key if s.source in ("canvas", "moodle") else None)
        for key, aid in changed:
            r = records[(key, aid)]
            ts = None
            if r.timestamp:
                try:
                    ts = datetime.fromisoformat(r.timestamp)
                except ValueError:
                    ts = None
            sub = gb.update_or_create_submission(aid, key, **({"timestamp": ts} if ts else {}))
            snb = gb.find_submission_notebook(aid, aid, key)
            flagged = bool(r.tampering) and tamper_zero
            for g in snb.grades:
                t = r.tests.get(g.name)
                if r.graded and t is not None:
                    g.auto_score = float(t.score)
                    g.needs_manual_grade = False
                    g.manual_score = 0.0 if flagged else None
                else:
                    g.auto_score = None
                    g.manual_score = None
                    g.needs_manual_grade = True
            snb.late_submission_penalty = None
            if r.graded and sub.total_seconds_late > 0:
                snb.late_submission_penalty = late.late_submission_penalty(key, snb.score, sub.total_seconds_late)
            gb.db.commit()
            bar.update(f"{aid}/{key}")
    manifest["records"].update(want)
    manifest["students"] = sorted(set(manifest.get("students", [])) | set(students))
    manifest_path.write_text(json.dumps(manifest))
    return db
