"""Per-user cgroups (v1 or v2): create with limits, join, read memory and OOM kills, remove.

Used by the hub's spawner (autograder/hub/spawner.py), by `teardown`, and by the tests to read
a server's memory. Standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

from autograder.processes import kill_until_gone, pids_in_cgroups

__all__ = ["UserCgroup", "parse_bytes"]

V1_CONTROLLERS = ("memory", "cpu", "pids")
CPU_PERIOD = 100_000


def parse_bytes(value) -> int | None:
    """``"2G"``, ``"512M"``, ``1073741824`` -> bytes (None for no limit)."""
    if value in (None, "", 0):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    text = str(value).strip().upper().removesuffix("B").removesuffix("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text))


class UserCgroup:
    """The cgroup(s) of one user's server: ``<root>/<controller>/<parent>/<user>`` (v1) or
    ``<root>/<parent>/<user>`` (v2)."""

    def __init__(self, user: str, parent: str = "backprop-hub", root: str | Path = "/sys/fs/cgroup") -> None:
        self.user, self.parent, self.root = user, parent, Path(root)
        self.v2 = (self.root / "cgroup.controllers").exists() and not (self.root / "memory").is_dir()

    # --- where ---------------------------------------------------------------------------------
    def dirs(self) -> dict[str, Path]:
        if self.v2:
            return {"unified": self.root / self.parent / self.user}
        return {c: self.root / c / self.parent / self.user for c in V1_CONTROLLERS if (self.root / c).is_dir()}

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs().values() if d.is_dir()]

    # --- lifecycle -----------------------------------------------------------------------------
    def create(self, mem_bytes: int | None, cpu_cores: float | None, pids: int | None) -> list[str]:
        """Make the cgroup(s) afresh with these limits; returns the cgroup.procs files to join
        (empty when this machine does not let us write cgroups)."""
        self.remove()
        made = []
        if self.v2:
            d = self.dirs()["unified"]
            try:
                for parent in (self.root, self.root / self.parent):
                    parent.mkdir(exist_ok=True)
                    (parent / "cgroup.subtree_control").write_text("+memory +cpu +pids")
                d.mkdir(exist_ok=True)
                if mem_bytes:
                    (d / "memory.max").write_text(str(mem_bytes))
                    if (d / "memory.swap.max").exists():
                        (d / "memory.swap.max").write_text("0")
                if cpu_cores:
                    (d / "cpu.max").write_text(f"{int(CPU_PERIOD * cpu_cores)} {CPU_PERIOD}")
                if pids:
                    (d / "pids.max").write_text(str(pids))
                made.append(str(d / "cgroup.procs"))
            except OSError:
                return []
            return made
        wanted = {
            "memory": {"memory.limit_in_bytes": mem_bytes, "memory.memsw.limit_in_bytes": mem_bytes},
            "cpu": {"cpu.cfs_period_us": CPU_PERIOD if cpu_cores else None,
                    "cpu.cfs_quota_us": int(CPU_PERIOD * cpu_cores) if cpu_cores else None},
            "pids": {"pids.max": pids},
        }
        for ctrl, d in self.dirs().items():
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError:
                continue
            for key, value in wanted[ctrl].items():
                if value is None or not (d / key).exists():
                    continue
                try:
                    (d / key).write_text(str(value))
                except OSError:
                    if key != "memory.memsw.limit_in_bytes":   # no swap accounting: fine
                        raise
            made.append(str(d / "cgroup.procs"))
        return made

    def pids(self) -> set[int]:
        return pids_in_cgroups(self.procs_files())

    def kill_all(self, timeout: float = 5.0) -> None:
        """SIGKILL every task in the cgroup(s) until none is left (or ``timeout``)."""
        kill_until_gone(lambda: self.pids() - {os.getpid()}, timeout)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs().values():
            try:
                d.rmdir()
            except OSError:
                pass

    # --- readings ------------------------------------------------------------------------------
    def _read(self, name: str) -> str:
        for ctrl, d in self.dirs().items():
            if ctrl in ("memory", "unified") and (d / name).exists():
                return (d / name).read_text()
        return ""

    def oom_kills(self) -> int:
        """How many processes the OOM killer has killed in this cgroup."""
        text = self._read("memory.events" if self.v2 else "memory.oom_control")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def memory_bytes(self) -> int:
        """Memory charged to the cgroup now (page cache included)."""
        text = self._read("memory.current" if self.v2 else "memory.usage_in_bytes").strip()
        return int(text) if text else 0

    def memory_limit(self) -> int | None:
        text = self._read("memory.max" if self.v2 else "memory.limit_in_bytes").strip()
        return None if not text or text == "max" else int(text)
