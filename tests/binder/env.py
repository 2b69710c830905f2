"""The Binder environment, rebuilt without Docker the way repo2docker builds it.

repo2docker (see ``tests/binder/test_repo2docker.py`` for its rendered Dockerfile) does, in order:
the pinned Python from ``binder/runtime.txt``; ``pip install -r binder/requirements.txt``; copy
the repository, less what ``binder/.dockerignore`` excludes, into the home folder ``REPO_DIR``;
run ``binder/postBuild`` there. :func:`build` does the same on this machine: a fresh virtual
environment on the pinned Python, the same two steps, and a copy of the repository as the image
would hold it. That copy is the student's home on Binder (``HOME == REPO_DIR``), so JupyterLab
for the browser tests starts in it, from this environment.

Building costs a minute or more (pip's cache makes the reinstall fast), so a test run builds one
environment, :func:`shared_env`, shared by its xdist workers, and the browser tests reuse it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"
HERE = Path(__file__).resolve().parent
NBRUN = HERE / "nbrun.py"

# Variables of the calling shell that would leak into the fresh environment.
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONSTARTUP", "MPLBACKEND",
          "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_PATH",
          "JUPYTER_CONFIG_PATH", "JUPYTERLAB_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR",
          "IPYTHONDIR", "MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")


def pinned_python() -> str:
    """``3.11`` from ``binder/runtime.txt`` (``python-3.11``)."""
    text = (BINDER / "runtime.txt").read_text().strip()
    if not text.startswith("python-"):
        raise ValueError(f"binder/runtime.txt should read python-X.Y, not {text!r}")
    return text.removeprefix("python-")


def interpreter_version(exe: str) -> str:
    out = subprocess.run([exe, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def find_pinned_interpreter(version: str | None = None) -> str:
    """A Python on this machine of the pinned major.minor version (``python3.11`` on PATH first)."""
    version = version or pinned_python()
    for cand in (shutil.which(f"python{version}"), sys.executable, shutil.which("python3")):
        if cand and (interpreter_version(cand) + ".").startswith(version + "."):
            return cand
    raise RuntimeError(f"binder/runtime.txt pins Python {version}, and no python{version} is on PATH")


def dockerignore_patterns() -> list[str]:
    """The patterns of ``binder/.dockerignore``, as repo2docker reads them (blank lines and # dropped)."""
    path = BINDER / ".dockerignore"
    if not path.exists():
        return []
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.strip().startswith("#")]


def is_ignored(rel: str, patterns: list[str]) -> bool:
    """Whether ``rel`` (a path relative to the repository) is left out of the image.

    Docker's rule for the simple patterns used here: a pattern matches a path or one of its
    parent folders (``solutions/`` excludes everything below ``solutions``).
    """
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pat in patterns:
        pat = pat.rstrip("/").removeprefix("./")
        if any(fnmatch.fnmatchcase(p, pat) for p in prefixes):
            return True
    return False


def repo_files() -> list[str]:
    """The files a clone of the repository would hold now: tracked and untracked-but-not-ignored."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=REPO, capture_output=True, check=True).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (REPO / f).is_file()})


def image_files() -> list[str]:
    """The repository's files that the Binder image holds (after ``binder/.dockerignore``)."""
    pats = dockerignore_patterns()
    return [f for f in repo_files() if not is_ignored(f, pats)]


def copy_image_tree(dest: Path) -> Path:
    """Copy the files the image holds into ``dest`` (the student's home on Binder)."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in image_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    return dest


def pip_cache_dir() -> str:
    return os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


@dataclass
class BinderEnv:
    """A fresh environment built from ``binder/``, and the home folder it serves."""

    root: Path      # everything below here is this environment's and goes away with it
    prefix: Path    # the virtual environment (repo2docker's NB_PYTHON_PREFIX)
    home: Path      # the repository as the image holds it; HOME and REPO_DIR on Binder
    timings: dict[str, float] = field(default_factory=dict)
    postbuild_log: str = ""

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.prefix / "bin" / name

    def env(self, **extra: str) -> dict[str, str]:
        """Environment variables of a fresh Binder session: this prefix first on PATH, HOME the repo copy."""
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
        env.update(PATH=f"{self.prefix / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.prefix),
                   HOME=str(self.home), PIP_CACHE_DIR=pip_cache_dir(), PYTHONNOUSERSITE="1")
        env.update(extra)
        return env

    def run(self, *args: str | Path, check: bool = True, timeout: float = 600, cwd: Path | None = None,
            **extra_env: str) -> subprocess.CompletedProcess:
        """Run a command of this environment (``jupyter``, ``python`` ...) and capture its output."""
        argv = [str(a) for a in args]
        if not os.path.isabs(argv[0]) and self.bin(argv[0]).exists():
            argv[0] = str(self.bin(argv[0]))
        proc = subprocess.run(argv, check=False, cwd=cwd or self.home, env=self.env(**extra_env), capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        return proc

    def installed_size(self) -> int:
        """Bytes on disk of the environment (du of the prefix)."""
        out = subprocess.run(["du", "-sb", str(self.prefix)], capture_output=True, text=True, check=True)
        return int(out.stdout.split()[0])

    def run_notebook(self, path: Path, mode: str = "until-error", timeout: float = 300,
                     pin_cpu: int | None = None) -> dict:
        """Execute a notebook in this environment's kernel (see ``tests/binder/nbrun.py``)."""
        argv = [str(self.python), str(NBRUN), str(path), "--mode", mode]
        if pin_cpu is not None and shutil.which("taskset"):
            argv = ["taskset", "-c", str(pin_cpu)] + argv
        proc = subprocess.run(argv, check=False, cwd=path.parent, env=self.env(), capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"nbrun failed on {path}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def build(root: Path, python: str | None = None) -> BinderEnv:
    """Build the Binder environment under ``root``, the way repo2docker would (without Docker)."""
    root = Path(root)
    python = python or find_pinned_interpreter()
    env = BinderEnv(root=root, prefix=root / "env", home=root / "home")
    t0 = time.perf_counter()
    copy_image_tree(env.home)
    subprocess.run([python, "-m", "venv", str(env.prefix)], check=True)
    t1 = time.perf_counter()
    env.run("python", "-m", "pip", "install", "-q", "-r", "binder/requirements.txt", timeout=1200)
    t2 = time.perf_counter()
    # repo2docker: `RUN chmod +x binder/postBuild && ./binder/postBuild`, from REPO_DIR
    post = env.home / "binder" / "postBuild"
    post.chmod(0o755)
    proc = env.run("./binder/postBuild", timeout=600)
    env.postbuild_log = proc.stdout + proc.stderr
    t3 = time.perf_counter()
    env.timings = {"venv": t1 - t0, "requirements": t2 - t1, "postBuild": t3 - t2, "total": t3 - t0}
    return env


_SHARED: dict[str, BinderEnv] = {}


def reuse(root: Path) -> BinderEnv:
    """An environment :func:`build` made earlier under ``root``, with a fresh copy of the repository.

    A shortcut for working on the browser tests (``BPL_BINDER_ENV=/tmp/bpl-binder-xxxx``): it does
    not rerun pip or postBuild, so it proves nothing about binder/; the test suite never sets it.
    """
    env = BinderEnv(root=root, prefix=root / "env", home=root / "home")
    if not env.python.exists():
        raise RuntimeError(f"BPL_BINDER_ENV={root}: no environment built there")
    for rel in image_files():
        (env.home / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, env.home / rel)
    return env


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _release(base: Path) -> None:
    """The last process of a test run to stop using the shared environment removes it."""
    with _locked(base / "binder-env.lock"):
        users = base / "binder-env.users"
        n = max(int(users.read_text() or 0) - 1, 0) if users.exists() else 0
        users.write_text(str(n))
        if n == 0:
            shutil.rmtree(base / "binder-env", ignore_errors=True)


def shared_env(base: Path | None = None) -> BinderEnv:
    """One environment per test run, built by whichever process asks first.

    ``base`` is a folder every process of the run sees (pytest's base temporary folder, shared
    by its xdist workers): the first process builds ``base/binder-env`` under a file lock, the
    others wait for it and reuse it; the last one to exit removes it. Without ``base`` (``make
    bench``) the environment is this process's own. ``BPL_BINDER_ENV`` names an environment
    built earlier (a shortcut for working on the browser tests; see :func:`reuse`).
    """
    if "env" in _SHARED:
        return _SHARED["env"]
    if os.environ.get("BPL_BINDER_ENV"):
        _SHARED["env"] = reuse(Path(os.environ["BPL_BINDER_ENV"]))
    elif base is None:
        root = Path(tempfile.mkdtemp(prefix="bpl-binder-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _SHARED["env"] = build(root)
    else:
        base.mkdir(parents=True, exist_ok=True)
        root, marker = base / "binder-env", base / "binder-env" / ".built.json"
        with _locked(base / "binder-env.lock"):
            if marker.exists():
                env = BinderEnv(root=root, prefix=root / "env", home=root / "home")
                env.timings = json.loads(marker.read_text())
            else:
                shutil.rmtree(root, ignore_errors=True)
                env = build(root)
                marker.write_text(json.dumps(env.timings))
            users = base / "binder-env.users"
            users.write_text(str((int(users.read_text() or 0) if users.exists() else 0) + 1))
        atexit.register(_release, base)
        _SHARED["env"] = env
    return _SHARED["env"]
