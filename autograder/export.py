"""Read a hand-in export: a zip as a learning management system produces it, or a folder.

Accepted layouts (any mix; one common top folder is ignored):

- ``<student>/<assignment>/<file>.ipynb`` (nbgrader's own layout)
- ``<student>/<file>.ipynb`` or ``<student>_<anything>/<file>.ipynb`` (Moodle's folders)
- ``<student>_<anything>.ipynb`` (Canvas, Blackboard: files named by student), also inside
  any folder

The student is the file name up to its first ``_`` when it has one (and its folder is
neither an assignment nor a ``<name>_<id>`` folder), else the first path component up to
its first ``_``, made lowercase and safe (``[a-z0-9.-]``). The assignment is a path component
that is an assignment id, else the assignment id contained in the file name, else the one
whose answer cells the notebook holds. Nothing is ever extracted by the zip's own paths:
entries are read into memory and written under names this module makes, so an entry with
``..`` or an absolute path is reported and skipped. A student who handed in twice: the
newest entry counts (zip timestamp, then name), and the others are noted.
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

__all__ = ["Export", "ExportError", "Handin", "read_export", "slug"]

MAX_ENTRY = 200 * 1024 * 1024


class ExportError(Exception):
    """The export as a whole cannot be read (one line)."""


@dataclass
class Handin:
    student: str
    aid: str
    data: bytes
    origin: str                      # the entry's name in the export
    timestamp: str | None = None     # ISO, from the zip entry or the file
    notes: list[str] = field(default_factory=list)


@dataclass
class Export:
    handins: dict[tuple[str, str], Handin] = field(default_factory=dict)   # (student, aid) -> hand-in
    problems: list[tuple[str | None, str | None, str]] = field(default_factory=list)  # (student, aid, reason)
    ignored: list[str] = field(default_factory=list)
    students: set[str] = field(default_factory=set)


def slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9.-]+", "-", name.strip().lower()).strip("-.")
    return s[:64] or "unknown"


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


def _classify(parts: list[str], aids: list[str]) -> tuple[str | None, str | None]:
    """(student, aid from the path) for an entry's path components (top folder stripped)."""
    if len(parts) == 1:
        stem = parts[0].rsplit(".", 1)[0]
        return slug(stem.split("_")[0]), _aid_in(stem, aids)
    aid = next((p for p in parts[1:-1] if p in aids), None) or _aid_in(parts[-1], aids)
    stem = parts[-1].rsplit(".", 1)[0]
    if "_" in parts[0] or parts[1] in aids or "_" not in stem:
        return slug(parts[0].split("_")[0]), aid  # Moodle's <name>_<id>_... folder, or <student>/<aid>/
    return slug(stem.split("_")[0]), aid          # <any folder>/<student>_..._<aid>.ipynb


def read_export(path: Path, aids: list[str], answer_ids: dict[str, set[str]]) -> Export:
    """Read ``path`` (a zip or a folder). Raises :class:`ExportError` if it cannot be read at all."""
    path = Path(path)
    entries: list[tuple[str, bytes | None, datetime | None, str | None]] = []  # name, data, time, problem
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            rel = f.relative_to(path).as_posix()
            if f.is_symlink():
                entries.append((rel, None, None, "a symbolic link: skipped"))
            elif f.is_file():
                if f.stat().st_size > MAX_ENTRY:
                    entries.append((rel, None, None, "larger than 200 MB: skipped"))
                else:
                    entries.append((rel, f.read_bytes(), datetime.fromtimestamp(f.stat().st_mtime), None))
    elif path.is_file():
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ExportError(f"cannot read the export {path}: not a zip file or a folder ({exc})") from None
        with zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                name = info.filename
                when = datetime(*info.date_time) if info.date_time[0] >= 1980 else None
                mode = info.external_attr >> 16
                if _unsafe(name):
                    entries.append((name, None, when, "unsafe path in the export (.. or absolute): skipped"))
                elif stat.S_ISLNK(mode):
                    entries.append((name, None, when, "a symbolic link: skipped"))
                elif info.file_size > MAX_ENTRY:
                    entries.append((name, None, when, "larger than 200 MB: skipped"))
                else:
                    try:
                        entries.append((name, zf.read(info), when, None))
                    except Exception as exc:  # noqa: BLE001 - a corrupt member: that entry only
                        entries.append((name, None, when, f"unreadable zip entry ({type(exc).__name__})"))
    else:
        raise ExportError(f"cannot read the export {path}: no such file or folder")

    names = [e[0] for e in entries if not e[0].startswith("__MACOSX/") and not _unsafe(e[0])]
    tops = {n.replace("\\", "/").split("/")[0] for n in names}
    top = next(iter(tops)) if len(tops) == 1 else None

    def _wrapper_only(n: str) -> bool:  # is the top folder a mere wrapper around this entry?
        rest = n.replace("\\", "/").split("/")[1:]
        if not n.endswith(".ipynb"):
            return True
        return rest[0] not in aids if len(rest) >= 2 else "_" in rest[0].rsplit(".", 1)[0]

    strip_top = (top is not None and top not in aids and "_" not in top and all("/" in n for n in names)
                 and all(_wrapper_only(n) for n in names))
    out = Export()
    candidates: dict[tuple[str, str], list[tuple[datetime | None, str, bytes]]] = {}
    for name, data, when, problem in entries:
        norm = name.replace("\\", "/")
        if norm.startswith("__MACOSX/") or PurePosixPath(norm).name.startswith("."):
            continue
        parts = [p for p in norm.split("/") if p and p not in (".", "..")]
        if strip_top and len(parts) > 1:
            parts = parts[1:]
        if not parts:
            continue
        student, aid = _classify(parts, aids)
        if problem:
            out.problems.append((student, aid, f"{name}: {problem}"))
            if student:
                out.students.add(student)
            continue
        if not parts[-1].endswith(".ipynb"):
            out.ignored.append(name)
            continue
        if aid is None:
            aid = _aid_from_content(data, answer_ids)
        out.students.add(student)
        if aid is None:
            out.problems.append((student, None, f"{name}: cannot tell which assignment this is"))
            continue
        candidates.setdefault((student, aid), []).append((when, name, data))
    for (student, aid), cands in candidates.items():
        cands.sort(key=lambda c: (c[0] or datetime.min, c[1]))
        when, name, data = cands[-1]
        h = Handin(student, aid, data, name, when.isoformat(sep=" ") if when else None)
        if len(cands) > 1:
            h.notes.append(f"handed in {len(cands)} times: graded the newest ({name}), ignored "
                           + ", ".join(c[1] for c in cands[:-1]))
        out.handins[(student, aid)] = h
    return out
