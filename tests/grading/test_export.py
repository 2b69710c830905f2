"""Reading hand-in exports: identity by LMS id, layouts, duplicates, unsafe and oversized entries
(no grading, fast)."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest

from autograder.grading.export import MAX_ENTRY, ExportError, read_export
from autograder.grading.pipeline import safe_key

AIDS = ["01-chain-rule", "02-graphs"]
IDS = {"01-chain-rule": {"ex01_chain"}, "02-graphs": {"ex02_mul"}}
T = (2025, 1, 1, 10, 0, 0)


def _zip(path: Path, entries: dict[str, tuple[bytes, tuple]], compress: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for name, (data, when) in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data,
                        compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
    return path


def test_layouts_and_ids(tmp_path):
    z = _zip(tmp_path / "e.zip", {
        "export/ann_1001_2_01-chain-rule.ipynb": (b"{}", T),                        # Canvas flat names
        "export/Bo Li_77_assignsubmission_file_/02-graphs.ipynb": (b"{}", T),       # Moodle folders
        "export/cat/01-chain-rule/01-chain-rule.ipynb": (b"{}", T),                 # nbgrader layout
        "export/readme.txt": (b"hi", T),
    })
    ex = read_export(z, AIDS, IDS)
    assert set(ex.handins) == {("1001", "01-chain-rule"), ("77", "02-graphs"), ("cat", "01-chain-rule")}
    assert {k: (s.name, s.source) for k, s in ex.students.items()} == {
        "1001": ("ann", "canvas"), "77": ("Bo Li", "moodle"), "cat": ("cat", "nbgrader")}
    assert ex.ignored == ["export/readme.txt"]


def test_two_students_with_one_name_stay_two(tmp_path):
    z = _zip(tmp_path / "e.zip", {"Sam Lee_501_assignsubmission_file_/01-chain-rule.ipynb": (b"a", T),
                                  "Sam Lee_502_assignsubmission_file_/01-chain-rule.ipynb": (b"b", T)})
    ex = read_export(z, AIDS, IDS)
    assert set(ex.handins) == {("501", "01-chain-rule"), ("502", "01-chain-rule")}
    assert [ex.students[k].name for k in ("501", "502")] == ["Sam Lee", "Sam Lee"]


def test_non_latin_names_are_kept_and_apart(tmp_path):
    names = ["李小龍", "Дмитрий Иванов", "محمد علي"]
    z = _zip(tmp_path / "e.zip", {f"{n}_{600 + i}_assignsubmission_file_/01-chain-rule.ipynb": (b"x", T)
                                  for i, n in enumerate(names)})
    ex = read_export(z, AIDS, IDS)
    assert sorted(s.name for s in ex.students.values()) == sorted(names)
    assert len({safe_key(k) for k in ex.students}) == 3
    assert safe_key("李小龍") != safe_key("Дмитрий Иванов") and safe_key("alice") == "alice"


def test_ambiguity_stops_with_a_clear_error(tmp_path):
    z = _zip(tmp_path / "e.zip", {"ann_1001_2_01-chain-rule.ipynb": (b"{}", T),
                                  "bob_1001_3_02-graphs.ipynb": (b"{}", T)})
    with pytest.raises(ExportError, match="ambiguous: id '1001' belongs to both 'ann' and 'bob'"):
        read_export(z, AIDS, IDS)
    z = _zip(tmp_path / "f.zip", {"kim_01-chain-rule.ipynb": (b"a", T), "kim_01-chain-rule (2).ipynb": (b"b", T)})
    with pytest.raises(ExportError, match="ambiguous: 2 files for 01-chain-rule under the one name 'kim'"):
        read_export(z, AIDS, IDS)


def test_assignment_from_content(tmp_path):
    nb = b'{"cells": [{"metadata": {"nbgrader": {"grade_id": "ex02_mul"}}}]}'
    ex = read_export(_zip(tmp_path / "e.zip", {"dan_5_9_homework.ipynb": (nb, T)}), AIDS, IDS)
    assert ("5", "02-graphs") in ex.handins


def test_newest_of_two_hand_ins_counts(tmp_path):
    z = _zip(tmp_path / "e.zip", {"eve_1_7_01-chain-rule.ipynb": (b"new", (2025, 1, 2, 0, 0, 0)),
                                  "eve_1_8_01-chain-rule-1.ipynb": (b"old", T)})
    h = read_export(z, AIDS, IDS).handins[("1", "01-chain-rule")]
    assert h.data == b"new" and "handed in 2 times" in h.notes[0]


def test_canvas_late_marker_is_noted(tmp_path):
    z = _zip(tmp_path / "e.zip", {"eve_LATE_1_7_01-chain-rule.ipynb": (b"x", T)})
    assert "late" in read_export(z, AIDS, IDS).handins[("1", "01-chain-rule")].notes[0]


def test_unsafe_entries_are_reported_never_written(tmp_path):
    z = _zip(tmp_path / "e.zip", {"../../evil_3_1_01-chain-rule.ipynb": (b"{}", T),
                                  "/abs/fay_4_1_01-chain-rule.ipynb": (b"{}", T),
                                  "ok/gus_5_1_01-chain-rule.ipynb": (b"{}", T)})
    ex = read_export(z, AIDS, IDS)
    assert set(ex.handins) == {("5", "01-chain-rule")}
    reasons = {s: r for s, a, r in ex.problems}
    assert "unsafe path" in reasons["3"] and "unsafe path" in reasons["4"]
    assert not (tmp_path.parent / "evil_3_1_01-chain-rule.ipynb").exists()


def test_compressed_export_is_read_within_memory_caps(tmp_path):
    """Big zero-filled entries compress to almost nothing: a non-notebook is never read, an
    oversized notebook is refused with a reason on the student's row, and memory stays small."""
    big = b"\0" * (300 * 1024 * 1024)
    z = _zip(tmp_path / "bomb.zip", {"zed_9_1_data.bin": (big, T), "zed_9_2_01-chain-rule.ipynb": (big, T),
                                     "amy_8_1_01-chain-rule.ipynb": (b"{}", T)}, compress=True)
    del big
    assert z.stat().st_size < 2 * 1024 * 1024
    tracemalloc.start()
    ex = read_export(z, AIDS, IDS)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * MAX_ENTRY, f"reading the export peaked at {peak / 2**20:.0f} MB"
    assert set(ex.handins) == {("8", "01-chain-rule")}
    assert ex.ignored == ["zed_9_1_data.bin"]
    assert any(k == "9" and "more than" in why for k, _, why in ex.problems)


def test_unreadable_export(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"nope")
    with pytest.raises(ExportError, match="not a zip"):
        read_export(tmp_path / "x.zip", AIDS, IDS)
    with pytest.raises(ExportError, match="no such"):
        read_export(tmp_path / "missing.zip", AIDS, IDS)


def test_one_student_folder_is_not_taken_for_a_wrapper(tmp_path):
    z = _zip(tmp_path / "m.zip", {"Ada Lovelace_1_assignsubmission_file_/01-chain-rule.ipynb": (b"{}", T)})
    assert set(read_export(z, AIDS, IDS).handins) == {("1", "01-chain-rule")}
    z = _zip(tmp_path / "n.zip", {"ada/01-chain-rule/01-chain-rule.ipynb": (b"{}", T)})
    assert set(read_export(z, AIDS, IDS).handins) == {("ada", "01-chain-rule")}
    z = _zip(tmp_path / "o.zip", {"ada/01-chain-rule.ipynb": (b"{}", T)})
    assert set(read_export(z, AIDS, IDS).handins) == {("ada", "01-chain-rule")}
