"""Reading hand-in exports: layouts, duplicates, unsafe entries (no grading, fast)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from autograder.export import ExportError, read_export, slug

AIDS = ["01-chain-rule", "02-graphs"]
IDS = {"01-chain-rule": {"ex01_chain"}, "02-graphs": {"ex02_mul"}}


def _zip(path: Path, entries: dict[str, tuple[bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, when) in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


T = (2025, 1, 1, 10, 0, 0)


def test_layouts(tmp_path):
    z = _zip(tmp_path / "e.zip", {
        "export/ann_1_2_01-chain-rule.ipynb": (b"{}", T),                           # Canvas flat names
        "export/Bo Li_77_assignsubmission_file_/02-graphs.ipynb": (b"{}", T),       # Moodle folders
        "export/cat/01-chain-rule/01-chain-rule.ipynb": (b"{}", T),                 # nbgrader layout
        "export/readme.txt": (b"hi", T),
    })
    ex = read_export(z, AIDS, IDS)
    assert set(ex.handins) == {("ann", "01-chain-rule"), ("bo-li", "02-graphs"), ("cat", "01-chain-rule")}
    assert ex.ignored == ["export/readme.txt"]


def test_assignment_from_content(tmp_path):
    nb = b'{"cells": [{"metadata": {"nbgrader": {"grade_id": "ex02_mul"}}}]}'
    ex = read_export(_zip(tmp_path / "e.zip", {"dan_5_homework.ipynb": (nb, T)}), AIDS, IDS)
    assert ("dan", "02-graphs") in ex.handins


def test_newest_of_two_hand_ins_counts(tmp_path):
    z = _zip(tmp_path / "e.zip", {"eve_1_01-chain-rule.ipynb": (b"new", (2025, 1, 2, 0, 0, 0)),
                                  "eve_1_01-chain-rule-1.ipynb": (b"old", T)})
    h = read_export(z, AIDS, IDS).handins[("eve", "01-chain-rule")]
    assert h.data == b"new" and "handed in 2 times" in h.notes[0]


def test_unsafe_entries_are_reported_never_written(tmp_path):
    z = _zip(tmp_path / "e.zip", {"../../evil_1_01-chain-rule.ipynb": (b"{}", T),
                                  "/abs/fay_1_01-chain-rule.ipynb": (b"{}", T),
                                  "ok/gus_1_01-chain-rule.ipynb": (b"{}", T)})
    ex = read_export(z, AIDS, IDS)
    assert set(ex.handins) == {("gus", "01-chain-rule")}
    reasons = {s: r for s, a, r in ex.problems}
    assert "unsafe path" in reasons["evil"] and "unsafe path" in reasons["fay"]
    assert {"evil", "fay", "gus"} <= ex.students
    assert not (tmp_path.parent / "evil_1_01-chain-rule.ipynb").exists()


def test_unreadable_export(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"nope")
    with pytest.raises(ExportError, match="not a zip"):
        read_export(tmp_path / "x.zip", AIDS, IDS)
    with pytest.raises(ExportError, match="no such"):
        read_export(tmp_path / "missing.zip", AIDS, IDS)


def test_slug():
    assert slug("  Ada LOVELACE ") == "ada-lovelace" and slug("../..") == "unknown"


def test_one_student_folder_is_not_taken_for_a_wrapper(tmp_path):
    z = _zip(tmp_path / "m.zip", {"Ada Lovelace_1_assignsubmission_file_/01-chain-rule.ipynb": (b"{}", T)})
    assert set(read_export(z, AIDS, IDS).handins) == {("ada-lovelace", "01-chain-rule")}
    z = _zip(tmp_path / "n.zip", {"ada/01-chain-rule/01-chain-rule.ipynb": (b"{}", T)})
    assert set(read_export(z, AIDS, IDS).handins) == {("ada", "01-chain-rule")}
