"""The machine side of a class: Linux accounts, folders and their permissions, running as a user.

Everything here runs as root (``python -m autograder.hub`` refuses otherwise) and touches only
what the class owns: the accounts named in its roster, the grader account, and folders under
the class's root and homes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from autograder.processes import kill_until_gone, pids_of_uid

__all__ = ["CommandError", "as_user", "chown_tree", "ensure_dir", "ensure_user", "kill_user_processes",
           "remove_user", "run", "set_password", "user_exists"]


class CommandError(RuntimeError):
    """A system command failed (one line, with the command's last words)."""


def run(argv: list[str], *, input: str | None = None, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, input=input, capture_output=True, text=True, check=False, **kw)
    if check and proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise CommandError(f"{' '.join(argv[:4])}{' ...' if len(argv) > 4 else ''} failed ({proc.returncode}): {last}")
    return proc


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def uid_of(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


def ensure_user(name: str, home: Path, *, shell: str = "/bin/bash") -> bool:
    """A Linux account with a private home (0700). Returns True when it was created now."""
    if user_exists(name):
        return False
    home.parent.mkdir(parents=True, exist_ok=True)
    run(["useradd", "--create-home", "--home-dir", str(home), "--shell", shell, "--user-group", name])
    os.chmod(home, 0o700)
    return True


def set_password(name: str, password: str | None) -> None:
    """Set (or, with None, lock) the account's password."""
    if password is None:
        run(["usermod", "--lock", name])
    else:
        run(["chpasswd"], input=f"{name}:{password}\n")


def kill_user_processes(uid: int, timeout: float = 10.0) -> None:
    """SIGKILL every process of ``uid`` until none is left."""
    kill_until_gone(lambda: pids_of_uid(uid), timeout, interval=0.1)


def remove_user(name: str, home: Path | None = None) -> None:
    """Remove the account, its processes and its home."""
    if user_exists(name):
        entry = pwd.getpwnam(name)
        kill_user_processes(entry.pw_uid)
        home = home or Path(entry.pw_dir)
        run(["userdel", name], check=False)
        run(["groupdel", name], check=False)   # the user's own group, if userdel left it
    if home and home.is_dir() and home != Path("/"):
        shutil.rmtree(home, ignore_errors=True)


def ensure_dir(path: Path, mode: int, owner: str | None = None) -> Path:
    """``path`` exists with exactly ``mode`` (including setgid/sticky bits) and ``owner``."""
    path.mkdir(parents=True, exist_ok=True)
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    else:
        os.chown(path, 0, 0)
    os.chmod(path, mode)
    return path


def chown_tree(path: Path, owner: str) -> None:
    """Give ``path`` and everything under it to ``owner`` (symlinks themselves, never followed)."""
    entry = pwd.getpwnam(owner)
    for p in [path, *path.rglob("*")]:
        try:
            os.lchown(p, entry.pw_uid, entry.pw_gid)
        except FileNotFoundError:
            pass


def as_user(user: str, argv: list[str], *, cwd: Path, env: dict[str, str], check: bool = True,
            timeout: float | None = 600) -> subprocess.CompletedProcess:
    """Run ``argv`` as ``user`` (runuser: no password, no login shell) with exactly ``env``."""
    entry = pwd.getpwnam(user)
    full = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8", **env}
    cmd = ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in full.items()], *argv]
    proc = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, check=False, timeout=timeout)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-8:])
        raise CommandError(f"{' '.join(argv[:3])} as {user} failed ({proc.returncode}):\n{tail}")
    return proc
