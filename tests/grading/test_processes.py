"""autograder.processes, which the grading sandbox and the hub share: finding a uid's processes
and a cgroup's tasks, and killing them until none is left."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from autograder.processes import kill_until_gone, pids_in_cgroups, pids_of_uid


def test_pids_of_uid_finds_this_process():
    assert os.getpid() in pids_of_uid(os.getuid())


def test_pids_in_cgroups_reads_procs_files_and_skips_unreadable_ones(tmp_path):
    (tmp_path / "a.procs").write_text("12\n34\n")
    (tmp_path / "b.procs").write_text("")
    assert pids_in_cgroups([tmp_path / "a.procs", str(tmp_path / "b.procs"), tmp_path / "missing"]) == {12, 34}


def test_kill_until_gone_kills_and_returns_once_nothing_is_left():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = time.monotonic()
        kill_until_gone(lambda: set() if child.poll() is not None else {child.pid}, timeout=10.0)
        assert child.poll() == -9 and time.monotonic() - start < 5.0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_kill_until_gone_gives_up_after_the_timeout():
    calls = []
    start = time.monotonic()
    kill_until_gone(lambda: calls.append(1) or {2**22 + 1}, timeout=0.2, interval=0.05)  # above any pid_max: no such process
    assert 0.2 <= time.monotonic() - start < 2.0 and len(calls) >= 2
