"""Set a class up on this machine, start its hub, take it down again.

``setup`` is idempotent: run it again after editing the roster to add accounts (it never
removes one). ``teardown`` removes only what ``setup`` created (the accounts it made, their
homes, the class's folders and cgroups), never a pre-existing account.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from pathlib import Path

from .cgroups import UserCgroup
from .settings import HubSettings, read_roster
from .system import chown_tree, ensure_dir, ensure_user, remove_user, set_password, user_exists

__all__ = ["hub_pid", "setup", "start", "teardown"]

COURSE_SUBDIRS = ("source", "release", "submitted", "autograded", "feedback", "grades", "quarantine")


def require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionError("a class on JupyterHub is set up and run as root (it creates accounts, "
                              "and the hub starts each student's server as that student)")


def _write(path: Path, text: str, mode: int = 0o644, owner: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    if owner:
        chown_tree(path, owner)


def _created_file(s: HubSettings) -> Path:
    return s.hub_dir / "created-users.txt"


def course_nbgrader_config(s: HubSettings) -> str:
    """The course directory's nbgrader_config.py (read by the grader's nbgrader commands and
    the formgrader)."""
    return f'''# Written by `python -m autograder.hub setup`: nbgrader's view of the course directory.
c = get_config()  # noqa: F821
c.CourseDirectory.root = {str(s.course_dir)!r}
c.CourseDirectory.course_id = {s.course_id!r}
c.Exchange.root = {str(s.exchange)!r}
c.ExchangeCollect.check_owner = True
# The late policy nbgrader applies (LateSubmissionPlugin: "none" marks late, "zero" scores 0).
c.LateSubmissionPlugin.penalty_method = {s.late_policy!r}
c.NbGrader.logfile = {str(s.course_dir / "nbgrader.log")!r}

# Students' code is graded by the course's sandboxed pipeline (python -m autograder.hub grade),
# never by the formgrader's own Autograde button, which would run it unsandboxed as this account.
from nbconvert.preprocessors import Preprocessor  # noqa: E402


class UseTheCoursePipeline(Preprocessor):
    def preprocess(self, nb, resources):
        raise RuntimeError("Autograde is off here: grade with `python -m autograder.hub grade <assignment>` "
                           "(the course's sandboxed pipeline), as root on the hub machine.")


c.Autograde.sanitize_preprocessors = [UseTheCoursePipeline]
'''


def class_nbgrader_config(s: HubSettings) -> str:
    """<root>/etc/jupyter/nbgrader_config.py: what every student server and the formgrader read."""
    return f'''# Written by `python -m autograder.hub setup`: this class's course and exchange.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {s.course_id!r}
c.Exchange.root = {str(s.exchange)!r}
c.Exchange.path_includes_course = False
'''


def setup(s: HubSettings, roster: Path, *, passwords: bool = True) -> dict:
    """Accounts from the roster, the exchange, the course directory and the class's config.
    Returns what was done: ``{"created": [...], "passwords": path or None}``."""
    require_root()
    members = read_roster(roster)
    names = {m.username for m in members}
    if s.grader in names:
        raise ValueError(f"{s.grader} is the grader account; it cannot be in the roster")
    s.instructors = [m.username for m in members if m.role == "instructor"]
    s.students = [m.username for m in members if m.role == "student"]
    s.names = {m.username: m.name for m in members if m.name}
    for d, mode in ((Path(s.root), 0o755), (s.hub_dir, 0o700), (s.etc_dir.parent, 0o755), (s.etc_dir, 0o755),
                    (s.grading, 0o700)):
        ensure_dir(d, mode)
    token = s.hub_dir / "admin-token"
    if not token.exists():
        _write(token, secrets.token_hex(32) + "\n", 0o600)
    s.save()
    os.chmod(s.path, 0o600)

    # accounts: the roster's, and the grader account that owns the course directory
    created = [ln for ln in _created_file(s).read_text().split() if ln] if _created_file(s).exists() else []
    new_passwords = []
    for m in members:
        if ensure_user(m.username, s.home(m.username)):
            created.append(m.username)
            if passwords:
                pw = secrets.token_urlsafe(12)
                set_password(m.username, pw)
                new_passwords.append((m.username, m.role, pw))
            else:
                set_password(m.username, None)
        elif s.home(m.username).is_dir() and s.home(m.username).stat().st_mode & 0o077:
            print(f"warning: {s.home(m.username)} can be read by other accounts (chmod 700 it)", file=sys.stderr)
    if ensure_user(s.grader, s.grader_home, shell="/usr/sbin/nologin"):
        created.append(s.grader)
        set_password(s.grader, None)
    _write(_created_file(s), "\n".join(dict.fromkeys(created)) + "\n", 0o600)
    pw_file = s.hub_dir / "initial-passwords.csv"
    if new_passwords:
        fresh = not pw_file.exists()
        with open(pw_file, "a") as f:
            if fresh:
                f.write("username,role,password\n")
            f.writelines(f"{u},{r},{p}\n" for u, r, p in new_passwords)
        os.chmod(pw_file, 0o600)

    # nbgrader's exchange, root-owned and writable by all as nbgrader requires (sticky: nobody
    # may rename or remove what another made there); the course's folders owned by the grader,
    # with the modes nbgrader's own release_assignment gives them: inbound 2733 (students can
    # submit, but not list or read others' submissions), outbound 755, feedback 711.
    ensure_dir(s.exchange, 0o1777)
    ensure_dir(s.exchange_course, 0o755, s.grader)
    ensure_dir(s.exchange_course / "inbound", 0o2733, s.grader)
    ensure_dir(s.exchange_course / "outbound", 0o755, s.grader)
    ensure_dir(s.exchange_course / "feedback", 0o711, s.grader)

    # the course directory (nbgrader's layout) and the grader account's Jupyter config
    ensure_dir(s.course_dir, 0o700, s.grader)
    for sub in COURSE_SUBDIRS:
        ensure_dir(s.course_dir / sub, 0o700, s.grader)
    _write(s.course_dir / "nbgrader_config.py", course_nbgrader_config(s), 0o600, s.grader)
    jdir = s.grader_home / ".jupyter"
    _write(jdir / "nbgrader_config.py",
           f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = {str(s.course_dir)!r}\n", 0o600, s.grader)
    _write(jdir / "jupyter_server_config.json", json.dumps({"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": True,
        "nbgrader.server_extensions.assignment_list": False,
        "nbgrader.server_extensions.course_list": False,
    }}}, indent=1) + "\n", 0o600, s.grader)
    chown_tree(jdir, s.grader)
    _write(s.etc_dir / "nbgrader_config.py", class_nbgrader_config(s), 0o644)

    # the repository holds the solutions: no student may read it
    repo = Path(s.repo)
    mode = repo.stat().st_mode
    if mode & 0o007:
        os.chmod(repo, mode & ~0o007)
        print(f"{repo}: no longer readable by other accounts (it holds the solutions)", file=sys.stderr)
    return {"created": created, "passwords": str(pw_file) if new_passwords else None}


def hub_pid(s: HubSettings) -> int | None:
    """The running hub's pid, or None."""
    try:
        pid = int((s.hub_dir / "jupyterhub.pid").read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def hub_env(s: HubSettings) -> dict[str, str]:
    return {"PATH": f"{s.venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "BPL_HUB_SETTINGS": str(s.path), "LANG": "C.UTF-8", "HOME": str(s.hub_dir)}


def hub_argv(s: HubSettings) -> list[str]:
    return [str(s.bin("jupyterhub")), "-f", str(Path(s.repo) / "autograder" / "hub" / "jupyterhub_config.py")]


def start(s: HubSettings) -> None:
    """Replace this process by the hub (foreground; Ctrl-C stops it and every student server)."""
    require_root()
    missing = [p for p in (s.bin("jupyterhub"), s.proxy) if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"not installed: {', '.join(map(str, missing))}; run `make hub-env`")
    if hub_pid(s):
        raise RuntimeError(f"the hub of {s.root} is already running (pid {hub_pid(s)})")
    os.chdir(s.hub_dir)
    print(f"JupyterHub for {s.course_id} on {s.url} ({len(s.students)} students, "
          f"{len(s.instructors)} instructor(s)); formgrader: {s.url}/services/{s.course_id}/formgrader",
          file=sys.stderr, flush=True)
    argv = hub_argv(s)
    os.execve(argv[0], argv, hub_env(s))


def stop_orphan_proxy(s: HubSettings) -> None:
    """The proxy runs in a session of its own: after a hub that crashed it is left running.
    Stop it by the pid file JupyterHub wrote (only if that pid is still this class's proxy)."""
    import signal

    pidfile = s.hub_dir / "jupyterhub-proxy.pid"
    try:
        pid = int(pidfile.read_text().strip())
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if any(b"configurable-http-proxy" in c for c in cmd) and str(s.proxy_api_port).encode() in cmd:
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def teardown(s: HubSettings) -> list[str]:
    """Remove the accounts ``setup`` created, their homes, the class's folders and cgroups.
    Refuses while the hub runs."""
    require_root()
    if hub_pid(s):
        raise RuntimeError(f"the hub is running (pid {hub_pid(s)}): stop it first")
    stop_orphan_proxy(s)
    created = _created_file(s).read_text().split() if _created_file(s).exists() else []
    for name in created:
        if user_exists(name):
            remove_user(name, s.home(name))
    for user in [*s.members, s.grader]:
        UserCgroup(user, s.cgroup).remove()
    for d in UserCgroup("x", s.cgroup).dirs().values():
        try:
            d.parent.rmdir()
        except OSError:
            pass
    shutil.rmtree(s.root, ignore_errors=True)
    return created
