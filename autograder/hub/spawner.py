"""JupyterHub's LocalProcessSpawner, with each student server in its own cgroup.

LocalProcessSpawner runs ``jupyterhub-singleuser`` as the student's own Linux account and
enforces no limits. :class:`CgroupLocalProcessSpawner` adds exactly that, as the grading
sandbox does (``autograder/grading/sandbox.py``): before the server process drops to the student's
uid it joins a per-user cgroup, so the server, its kernels and everything they start share
``Spawner.mem_limit`` (memory), ``Spawner.cpu_limit`` (a CPU quota in cores) and
``pids_limit`` (tasks). When the kernel's OOM killer fires in a student's cgroup the hub
stops that student's server at its next poll (and only that one); the student starts it
again from the hub, and finds the saved notebooks in their home.

cgroup v1 (one folder per controller, as on this project's machines) and cgroup v2 (one
unified folder) are both handled; where neither is writable the server runs without
limits and the hub logs a warning at every start.

Only the standard library and JupyterHub are imported: the hub loads this from its own
environment.
"""

from __future__ import annotations

import asyncio
import os
import signal

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer, Unicode

from .cgroups import UserCgroup, parse_bytes

__all__ = ["CgroupLocalProcessSpawner"]

class CgroupLocalProcessSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose servers run inside per-user cgroups with
    ``mem_limit``, ``cpu_limit`` and ``pids_limit`` enforced by the kernel."""

    cgroup_parent = Unicode("backprop-hub", help="cgroup folder holding one cgroup per user").tag(config=True)
    cgroup_root = Unicode("/sys/fs/cgroup", help="where the cgroup file systems are mounted").tag(config=True)
    pids_limit = Integer(512, help="most tasks (processes and threads) of one user's server").tag(config=True)

    @property
    def cgroup(self) -> UserCgroup:
        return UserCgroup(self.user.name, self.cgroup_parent, self.cgroup_root)

    async def start(self):
        self._procs = self.cgroup.create(parse_bytes(self.mem_limit), self.cpu_limit, self.pids_limit)
        if not self._procs:
            self.log.warning("cgroups are not writable here: %s's server runs without memory/CPU limits",
                             self.user.name)
        return await super().start()

    def make_preexec_fn(self, name):
        drop = super().make_preexec_fn(name)
        procs = list(getattr(self, "_procs", []))

        def preexec():
            # still root, between fork and exec: join the user's cgroup(s), then become the user
            for f in procs:
                with open(f, "w") as fh:
                    fh.write(str(os.getpid()))
            drop()

        return preexec

    async def poll(self):
        status = await super().poll()
        if status is None and self.cgroup.oom_kills() > 0:
            self.log.warning("%s's server went past its memory limit (%d MB): stopping it", self.user.name,
                             (parse_bytes(self.mem_limit) or 0) // 2**20)
            self.cgroup.kill_all()
            for _ in range(100):
                status = await super().poll()
                if status is not None:
                    break
                await asyncio.sleep(0.05)
            if status is None:
                status = -signal.SIGKILL
        if status is not None:
            # the server is gone (stopped, crashed or killed): so is everything it started
            self.cgroup.remove()
        return status

    async def stop(self, now=False):
        await super().stop(now=now)
        self.cgroup.remove()
