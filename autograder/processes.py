"""Finding and killing the processes a sandbox or a student's server leaves behind.

The grading sandbox (:mod:`autograder.grading.sandbox`) and the hub (:mod:`autograder.hub.system`,
:mod:`autograder.hub.cgroups`) both use these. Standard library only: the hub loads this from its
own environment.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["kill_until_gone", "pids_in_cgroups", "pids_of_uid"]


def pids_of_uid(uid: int) -> set[int]:
    """Every process whose real uid is ``uid`` (read from /proc)."""
    pids = set()
    for st in Path("/proc").glob("[0-9]*/status"):
        try:
            for line in st.read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        pids.add(int(st.parent.name))
                    break
        except (OSError, ValueError):
            continue
    return pids


def pids_in_cgroups(procs_files: Iterable[str | Path]) -> set[int]:
    """The tasks listed in these ``cgroup.procs`` files (an unreadable one lists none)."""
    pids = set()
    for procs in procs_files:
        try:
            pids |= {int(x) for x in Path(procs).read_text().split()}
        except OSError:
            pass
    return pids


def kill_until_gone(find: Callable[[], Iterable[int]], timeout: float, interval: float = 0.05) -> None:
    """SIGKILL whatever ``find()`` returns, every ``interval`` seconds, until it returns nothing
    (or ``timeout`` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = set(find())
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(interval)
