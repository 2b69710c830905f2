"""The sandbox a student's kernel runs in.

Each submission's kernel is started as::

    prlimit --cpu --as --fsize --nofile --nproc -- bwrap <isolation> -- setpriv --reuid U ... python -m ipykernel_launcher

- ``bwrap`` (bubblewrap): new network namespace (no network at all, not even the host's
  loopback), new PID/IPC/UTS namespaces, a tmpfs root holding read-only binds of the system
  folders, the interpreter and the venv (and the ``backproplab`` sources when installed
  editable), an empty tmpfs ``/tmp``, and exactly one writable folder: the submission's
  private scratch folder, which is also the working directory and ``$HOME``. The repository
  (solutions, gradebook, other students' files) is simply not in the mount namespace.
- ``setpriv`` drops to an unprivileged uid unique to the grading worker (so the process
  limit is per worker and really applies: Linux exempts root from ``RLIMIT_NPROC``), with no
  capabilities and ``no_new_privs``.
- ``prlimit``: CPU seconds, address space, file size, open files and processes.
- The kernel talks to the grader over Unix sockets in the scratch folder (IPC transport),
  so it needs no network; the wall clock is enforced by the grader (cell timeout, then kill).

:class:`SandboxedKernelManager` is a jupyter_client kernel manager that launches kernels
this way; the grading executor uses it (:mod:`autograder.grading.execute`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from backproplab.kernel_client import CLIENT_CLASS, ValidateKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, DottedObjectName, Integer, List, Type, Unicode

from autograder.processes import kill_until_gone, pids_in_cgroups, pids_of_uid

__all__ = ["Limits", "SandboxUnavailable", "SandboxedKernelManager", "kernel_command", "probe", "worker_uid"]


@dataclass
class Limits:
    """Resource limits of one submission's kernel (all configurable from the command line)."""

    cell_timeout: int = 30      # wall-clock seconds per cell before the kernel is killed
    wall_seconds: int = 600     # wall-clock budget of a whole submission
    cpu_seconds: int = 300      # CPU seconds per kernel process (RLIMIT_CPU)
    memory_mb: int = 2048       # address space per process (RLIMIT_AS)
    nproc: int = 64             # processes and threads of the sandbox's uid (RLIMIT_NPROC)
    fsize_mb: int = 64          # largest file a kernel may write (RLIMIT_FSIZE)
    nofile: int = 256           # open files
    output_kb: int = 1024       # output a cell may produce before it is truncated
    cpu_cores: float = 1.0      # CPU share of one sandbox (cgroup quota, where cgroups are writable)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Limits:
        return cls(**json.loads(text)) if text else cls()


class SandboxUnavailable(RuntimeError):
    """No isolation tool works on this machine."""


def worker_uid(pid: int | None = None) -> int:
    """An unprivileged uid for one grading worker process: unique among running workers."""
    return 200_000 + (pid or os.getpid()) % 4_000_000


def _readonly_roots() -> list[Path]:
    """Host folders the kernel needs to read: the interpreter, the venv, editable sources."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix)}
    try:
        import backproplab

        pkg = Path(backproplab.__file__).resolve().parent.parent
        if not str(pkg).startswith(str(Path(sys.prefix).resolve())):
            roots.add(pkg)  # an editable install: lib/ itself (public, published to students)
    except ImportError:
        pass
    out = []
    for r in sorted(roots, key=lambda p: len(p.parts)):
        if str(r).startswith(("/usr/", "/etc/")) or r == Path("/usr"):
            continue
        if not any(r != o and o in r.parents for o in out):
            out.append(r)
    return out


def _parents_args(path: Path, made: set[Path]) -> list[str]:
    """bwrap creates missing parents 0700; make them traversable for the unprivileged uid."""
    args = []
    for parent in reversed(path.parents):
        if parent == Path("/") or parent in made:
            continue
        made.add(parent)
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _bwrap_args(scratch: Path, sockets: Path | None = None) -> list[str]:
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    made: set[Path] = {Path("/tmp"), Path("/usr"), Path("/etc")}
    for root in _readonly_roots():
        args += _parents_args(root, made) + ["--ro-bind", str(root), str(root)]
    args += _parents_args(scratch, made) + ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    if sockets is not None:  # short host path for the kernel's Unix sockets (108-byte limit), same path inside
        args += _parents_args(sockets, made) + ["--bind", str(sockets), str(sockets)]
    return args


def kernel_env(scratch: Path) -> dict[str, str]:
    """The whole environment of a student's kernel: nothing inherited from the grader."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
        "IPYTHONDIR": str(scratch / ".ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # one thread per kernel: workers already use every core
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    }


def _prlimit_args(limits: Limits, with_nproc: bool) -> list[str]:
    mb = 1024 * 1024
    args = ["prlimit", f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_mb * mb}",
            f"--fsize={limits.fsize_mb * mb}", f"--nofile={limits.nofile}", "--core=0"]
    if with_nproc:
        args.append(f"--nproc={limits.nproc}")
    return args + ["--"]


CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_create(name: str, limits: Limits) -> list[str]:
    """Per-sandbox cgroups (v1 ``cpu`` and ``pids`` controllers) where this machine lets us
    write them: a CPU quota of ``cpu_cores`` and at most ``nproc`` tasks for the whole sandbox,
    so a fork bomb cannot starve the other submissions graded in parallel. Returns the
    ``cgroup.procs`` files to join (empty when cgroups are not writable: rlimits still apply)."""
    wanted = {"cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": str(int(100000 * limits.cpu_cores))},
              "pids": {"pids.max": str(limits.nproc)}}
    procs = []
    for ctrl, settings in wanted.items():
        d = CGROUP_ROOT / ctrl / "bpl-grading" / name
        try:
            d.mkdir(parents=True, exist_ok=True)
            for k, v in settings.items():
                (d / k).write_text(v)
        except OSError:
            continue
        procs.append(str(d / "cgroup.procs"))
    return procs


def cgroup_remove(name: str) -> None:
    """Kill whatever is left in the sandbox's cgroups, then remove them."""
    dirs = [CGROUP_ROOT / ctrl / "bpl-grading" / name for ctrl in ("cpu", "pids")]
    dirs = [d for d in dirs if d.is_dir()]
    reap(None, [str(d / "cgroup.procs") for d in dirs], timeout=1.0)
    for d in dirs:
        try:
            d.rmdir()
        except OSError:
            pass


def reap(uid: int | None, cgroups: list[str] | None = None, timeout: float = 10.0) -> None:
    """Kill every process left by a sandbox (its cgroups' tasks, and any process of its uid)
    and wait until they are gone, so a restarted kernel starts with its full process budget."""
    def left() -> set[int]:
        pids = pids_in_cgroups(cgroups or [])
        if uid:
            pids |= pids_of_uid(uid)
        return pids - {os.getpid()}

    kill_until_gone(left, timeout)


def kernel_command(argv: list[str], scratch: Path, limits: Limits, *, sandbox: bool = True,
                   uid: int | None = None, cgroups: list[str] | None = None,
                   sockets: Path | None = None) -> list[str]:
    """``argv`` (a kernel command) wrapped in the limits and, unless ``sandbox`` is False, bwrap."""
    join = []
    if cgroups:  # the launcher joins the cgroups, then becomes the sandbox: every descendant is inside
        join = ["/bin/sh", "-c", "for f in " + " ".join(f"'{c}'" for c in cgroups)
                + '; do echo $$ > "$f"; done; exec "$@"', "sh"]
    if not sandbox:
        return join + _prlimit_args(limits, with_nproc=False) + argv
    uid = uid or worker_uid()
    env_args = []
    for k, v in kernel_env(scratch).items():
        env_args += ["--setenv", k, v]
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]
    return join + _prlimit_args(limits, with_nproc=True) + _bwrap_args(scratch, sockets) + env_args + ["--"] + drop + argv


def socket_folder(uid: int | None, sandbox: bool) -> Path:
    """A short, private folder for a kernel's Unix sockets (paths are limited to 108 bytes)."""
    d = Path(tempfile.mkdtemp(prefix="bplk-", dir="/tmp"))
    if sandbox and os.geteuid() == 0:
        os.chown(d, uid or worker_uid(), uid or worker_uid())
    os.chmod(d, 0o700)
    return d


def prepare_scratch(scratch: Path, uid: int | None, sandbox: bool) -> None:
    """The kernel's private working folder, owned by the sandbox uid."""
    scratch.mkdir(parents=True, exist_ok=True)
    if sandbox and os.geteuid() == 0:
        uid = uid or worker_uid()
        for p in [scratch, *scratch.rglob("*")]:
            os.lchown(p, uid, uid)
    os.chmod(scratch, 0o755)


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, str]:
    """Does the sandbox work here? ``(True, "")`` or ``(False, reason)``: runs a real kernel
    command's wrapper around a Python that imports numpy and must not reach the repository."""
    if sys.platform != "linux":
        return False, f"bubblewrap sandboxing needs Linux, this is {sys.platform}"
    for tool in ("bwrap", "prlimit", "setpriv"):
        if not shutil.which(tool):
            return False, f"{tool} is not installed (Debian: apt-get install bubblewrap util-linux)"
    if os.geteuid() != 0:
        return False, ("the grader must run as root to give each kernel its own unprivileged uid "
                       "(needed for the process limit); run it as root, e.g. in its container")
    with tempfile.TemporaryDirectory(prefix="bpl-probe-") as tmp:
        scratch = Path(tmp) / "scratch"
        prepare_scratch(scratch, None, True)
        here = Path(__file__).resolve()
        code = ("import os, numpy, backproplab; "
                f"assert not os.path.exists({str(here)!r}), 'repository visible'; "
                "open('ok', 'w').write('ok')")
        cmd = kernel_command([sys.executable, "-c", code], scratch, Limits(), sandbox=True)
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"bwrap failed to start: {exc}"
        if r.returncode != 0 or not (scratch / "ok").exists():
            err = (r.stderr.strip().splitlines() or ["no output"])[-1]
            return False, f"bwrap does not work here (user namespaces or mounts refused?): {err}"
    return True, ""


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in :func:`kernel_command`'s sandbox.

    The kernel's working folder is ``scratch`` whatever nbclient asks for, its environment
    is :func:`kernel_env` only, and it connects over Unix sockets in ``scratch``.
    """

    # the client (in the trusted worker) whose waits cannot sleep through a reply that lands during a send
    client_class = DottedObjectName(CLIENT_CLASS)
    client_factory = Type(ValidateKernelClient)
    scratch = Unicode("", help="the kernel's private, writable working folder").tag(config=True)
    sandbox = Bool(True, help="run the kernel in bwrap (False: limits only)").tag(config=True)
    uid = Integer(0, help="unprivileged uid of the kernel (0: derived from the worker pid)").tag(config=True)
    limits_json = Unicode("", help="Limits as JSON").tag(config=True)
    cgroups = List(Unicode(), help="cgroup.procs files the kernel joins").tag(config=True)
    socket_dir = Unicode("", help="short folder for the kernel's Unix sockets (default: scratch)").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not self.scratch:
            raise ValueError("SandboxedKernelManager needs a scratch folder")
        scratch = Path(self.scratch)
        self.transport = "ipc"
        self.ip = str(Path(self.socket_dir or scratch) / "k")
        self.connection_file = str(scratch / ".kernel.json")

    @property
    def limits(self) -> Limits:
        return Limits.from_json(self.limits_json)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)  # readable by the kernel's unprivileged uid

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if Path(cmd[0]).name.startswith("python"):
            cmd[0] = sys.executable
        return kernel_command(cmd, Path(self.scratch), self.limits, sandbox=self.sandbox,
                              uid=self.uid or None, cgroups=list(self.cgroups),
                              sockets=Path(self.socket_dir) if self.socket_dir else None)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["cwd"] = self.scratch
        kw["env"] = kernel_env(Path(self.scratch))
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False):
        await super()._async_shutdown_kernel(now=now, restart=restart)
        if self.sandbox:
            reap(self.uid or None, list(self.cgroups))

    def exit_status(self) -> int | None:
        """The kernel process's exit status once it has died (negative: killed by a signal)."""
        proc = getattr(self.provisioner, "process", None)
        return None if proc is None else proc.poll()
