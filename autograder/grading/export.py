"""Read a hand-in export: a zip as a learning management system produces it, or a folder.

Students are keyed by the LMS's **own id**, never by a name (two students can share a name,
and names need not be Latin):

- Canvas ("Download submissions"): files ``<login>_[LATE_]<user id>_<submission id>_<file>``;
  the key is the Canvas user id;
- Moodle ("Download all submissions"): folders ``<Full Name>_<participant id>_assignsubmission_file_/``;
  the key is the participant id, the name is kept as written (UTF-8);
- nbgrader's own layout ``<student>/<assignment>/<file>.ipynb`` (e.g. collected from JupyterHub's
  exchange): the key is the student folder (the hub username);
- otherwise, ``<student>/<file>.ipynb`` or ``<student>_<anything>.ipynb``: the key is that name, as
  written (NFC).

The assignment is a path component that is an assignment id, else the id inside the file
name, else the one whose answer cells the notebook holds. Nothing is extracted by the zip's
own paths: entries are read into memory under names this module makes (``..``, absolute paths
and links are refused and reported). Entries that are not notebooks are skipped without being
read; a notebook entry is read at most :data:`MAX_ENTRY` bytes (bigger: refused, with a reason
on the student's row), and the export at most :data:`MAX_TOTAL` bytes in all. A student who
handed in twice: the newest entry counts (zip time, then name) and the others are noted.
Anything ambiguous (one id under two names, two files for one student that cannot be told
apart) stops the run with a clear error rather than drop or merge a hand-in.
"""

from __future__ import annotations

import contextlib
import json
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from .records import Handin, Student

__all__ = ["MAX_ENTRY", "MAX_TOTAL", "Export", "ExportError", "read_export"]

MAX_ENTRY = 20 * 1024 * 1024
MAX_TOTAL = 4 * 1024 * 1024 * 1024

CANVAS = re.compile(r"^(?P<login>[^_]+?)(?P<late>_(?i:late))?_(?P<uid>\d+)_(?P<sub>\d+)_(?P<rest>.+)$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assign(?:submission|feedback)_[a-z]+_?$")
MOODLE_FLAT = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assign(?:submission|feedback)_[a-z]+_(?P<rest>.+)$")


class ExportError(Exception):
    """The export as a whole cannot be read, or is ambiguous (one line)."""


@dataclass
class Export:
    handins: dict[tuple[str, str], Handin] = field(default_factory=dict)     # (student key, aid) -> hand-in
    problems: list[tuple[str | None, str | None, str]] = field(default_factory=list)  # (key, aid, reason)
    ignored: list[str] = field(default_factory=list)
    students: dict[str, Student] = field(default_factory=dict)


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s).strip()


def _aid_in(text: str, aids: list[str]) -> str | None:
    hits = [a for a in aids if a in text]
    return max(hits, key=len) if hits else None


def _aid_from_content(data: bytes, answer_ids: dict[str, set[str]]) -> str | None:
    try:
        nb = json.loads(data.decode("utf-8"))
        ids = {((c.get("metadata") or {}).get("nbgrader") or {}).get("grade_id") for c in nb.get("cells", [])}
    except Exception:  # noqa: BLE001 - not JSON: the worker reports it
        return None
    best = max(answer_ids, key=lambda a: len(ids & answer_ids[a]), default=None)
    return best if best and ids & answer_ids[best] else None


def _unsafe(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or ".." in p.parts


def identify(parts: list[str], aids: list[str]) -> tuple[Student | None, str | None, list[str]]:
    """(student, assignment from the path, notes) for an entry's path components."""
    notes = []
    for p in parts[:-1]:
        m = MOODLE.match(p)
        if m:
            aid = next((q for q in parts if q in aids), None) or _aid_in(parts[-1], aids)
            return Student(m["pid"], _nfc(m["name"]), source="moodle"), aid, notes
    m = MOODLE_FLAT.match(parts[-1])   # Moodle's download without folders
    if m:
        aid = next((q for q in parts[:-1] if q in aids), None) or _aid_in(m["rest"], aids)
        return Student(m["pid"], _nfc(m["name"]), source="moodle"), aid, notes
    m = CANVAS.match(parts[-1])
    if m:
        if m["late"]:
            notes.append("Canvas marked this hand-in late")
        aid = next((q for q in parts[:-1] if q in aids), None) or _aid_in(m["rest"], aids)
        return Student(m["uid"], _nfc(m["login"]), source="canvas"), aid, notes
    if len(parts) >= 3 and parts[1] in aids:
        return Student(_nfc(parts[0]), _nfc(parts[0]), source="nbgrader"), parts[1], notes
    if len(parts) == 2 and parts[0] not in aids:
        return Student(_nfc(parts[0]), _nfc(parts[0]), source="files"), _aid_in(parts[1], aids), notes
    stem = parts[-1].rsplit(".", 1)[0]
    name = _nfc(stem.split("_")[0])
    aid = next((q for q in parts[:-1] if q in aids), None) or _aid_in(stem, aids)
    return (Student(name, name, source="files") if name else None), aid, notes


def _entries(path: Path, stack: contextlib.ExitStack):
    """(name, reader or None, time, problem) for every file of the export, never reading a
    non-notebook or an oversized entry (the zip stays open until ``stack`` closes)."""
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            rel = f.relative_to(path).as_posix()
            if f.is_symlink():
                yield rel, None, None, "a symbolic link: skipped"
            elif f.is_file():
                size = f.stat().st_size
                when = datetime.fromtimestamp(f.stat().st_mtime)
                if rel.endswith(".ipynb") and size > MAX_ENTRY:
                    yield rel, None, when, f"a notebook of {size // 2**20} MB, more than the {MAX_ENTRY // 2**20} MB accepted"
                else:
                    yield rel, (lambda f=f: f.read_bytes()), when, None
        return
    if not path.is_file():
        raise ExportError(f"cannot read the export {path}: no such file or folder")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"cannot read the export {path}: not a zip file or a folder ({exc})") from None
    stack.enter_context(zf)
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = info.filename
        when = datetime(*info.date_time) if info.date_time[0] >= 1980 else None
        if _unsafe(name):
            yield name, None, when, "unsafe path in the export (.. or absolute): skipped"
        elif stat.S_ISLNK(info.external_attr >> 16):
            yield name, None, when, "a symbolic link: skipped"
        else:
            def read(info=info, zf=zf):
                with zf.open(info) as fh:
                    data = fh.read(MAX_ENTRY + 1)
                if len(data) > MAX_ENTRY:
                    raise ValueError(f"a notebook of more than {MAX_ENTRY // 2**20} MB, more than accepted")
                return data
            yield name, read, when, None


def read_export(path: Path, aids: list[str], answer_ids: dict[str, set[str]]) -> Export:
    """Read ``path`` (a zip or a folder); see the module docstring. Raises :class:`ExportError`."""
    path = Path(path)
    with contextlib.ExitStack() as stack:
        return _read(path, list(_entries(path, stack)), aids, answer_ids)


def _read(path: Path, raw: list, aids: list[str], answer_ids: dict[str, set[str]]) -> Export:
    names = [e[0] for e in raw if not e[0].startswith("__MACOSX/") and not _unsafe(e[0])]
    tops = {n.replace("\\", "/").split("/")[0] for n in names}
    top = next(iter(tops)) if len(tops) == 1 else None
    split = [n.replace("\\", "/").split("/") for n in names]
    strip_top = (top is not None and top not in aids and not MOODLE.match(top) and all(len(p) > 1 for p in split)
                 and not any(len(p) >= 3 and p[1] in aids for p in split)       # <student>/<aid>/...: a student
                 and not all(len(p) == 2 and "_" not in p[1] for p in split))   # <student>/<file>: a student
    out = Export()
    total = 0
    candidates: dict[tuple[str, str], list[tuple[datetime | None, str, bytes, list[str]]]] = {}
    for name, reader, when, problem in raw:
        norm = name.replace("\\", "/")
        if norm.startswith("__MACOSX/") or PurePosixPath(norm).name.startswith("."):
            continue
        parts = [p for p in norm.split("/") if p and p not in (".", "..")]
        if strip_top and len(parts) > 1:
            parts = parts[1:]
        if not parts:
            continue
        if not parts[-1].endswith(".ipynb") and problem is None:
            out.ignored.append(name)
            continue
        student, aid, notes = identify(parts, aids)
        if student is None:
            out.problems.append((None, aid, f"{name}: cannot tell whose hand-in this is"))
            continue
        known = out.students.get(student.key)
        if known is not None and known.name != student.name:
            raise ExportError(f"the export is ambiguous: id {student.key!r} belongs to both {known.name!r} and "
                              f"{student.name!r} ({name}); fix the export, nothing was graded")
        out.students.setdefault(student.key, student)
        if problem is None:
            if total > MAX_TOTAL:
                problem = f"the export is larger than {MAX_TOTAL // 2**30} GB: this entry was not read"
            else:
                try:
                    data = reader()
                    total += len(data)
                except ValueError as exc:
                    problem = str(exc)
                except Exception as exc:  # noqa: BLE001 - a corrupt member: that entry only
                    problem = f"unreadable zip entry ({type(exc).__name__})"
        if problem:
            out.problems.append((student.key, aid, f"{name}: {problem}"))
            continue
        if aid is None:
            aid = _aid_from_content(data, answer_ids)
        if aid is None:
            out.problems.append((student.key, None, f"{name}: cannot tell which assignment this is"))
            continue
        candidates.setdefault((student.key, aid), []).append((when, name, data, notes))
    for (key, aid), cands in candidates.items():
        student = out.students[key]
        if len(cands) > 1 and student.source == "files":
            # no LMS id: two files for one name may be two students of that name
            raise ExportError(f"the export is ambiguous: {len(cands)} files for {aid} under the one name "
                              f"{student.name!r} ({', '.join(c[1] for c in cands)}) and no LMS id to tell them "
                              "apart; export them with the LMS's ids, nothing was graded")
        cands.sort(key=lambda c: (c[0] or datetime.min, c[1]))
        when, name, data, notes = cands[-1]
        h = Handin(student, aid, data, name, when.isoformat(sep=" ") if when else None, list(notes))
        if len(cands) > 1:
            h.notes.append(f"handed in {len(cands)} times: graded the newest ({name}), ignored "
                           + ", ".join(c[1] for c in cands[:-1]))
        out.handins[(key, aid)] = h
    return out
