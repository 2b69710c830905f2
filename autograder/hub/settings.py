"""Where one class on one machine lives, and its knobs.

One :class:`HubSettings` describes a class: written once by ``python -m autograder.hub setup``
to ``<root>/hub/settings.json`` and read back by every other command and by the hub's own
configuration (``jupyterhub_config.py``, through ``$BPL_HUB_SETTINGS``). Only the standard
library is used here: the hub imports this module from its own environment.

Layout of a class (``root`` defaults to ``/srv/backprop-hub``)::

    <root>/hub/            root 0700: settings.json, the hub's database, cookie secret, API token,
                           initial-passwords.csv, logs
    <root>/etc/jupyter/    0755: the class's Jupyter config (course id, exchange), read by every
                           student server and the formgrader (JUPYTER_CONFIG_PATH)
    <root>/exchange/       root 1777: nbgrader's exchange (course folder owned by the grader account)
    <root>/grading/<aid>/  root 0700: the pipeline's input and output for one assignment
    <home_base>/<grader>/<course_id>/   the nbgrader course directory (grader 0700): source/,
                           release/, submitted/, autograded/, feedback/, gradebook.db, grades/
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["USERNAME_RE", "HubSettings", "RosterError", "read_roster"]

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_ROOT = Path("/srv/backprop-hub")
DEFAULT_PREFIX = Path("/opt/backprop-hub")
# A hub username is the student's key everywhere: a Linux account (a lowercase letter first),
# an nbgrader student id (no '+', no '*'), the grading pipeline's student folder name and
# grades.csv key (plain names are kept as they are), at most 31 characters.
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{0,30}$")
ROLES = ("instructor", "student")


class RosterError(ValueError):
    """The roster CSV cannot be used (one line)."""


@dataclass
class Member:
    username: str
    role: str
    name: str = ""


def read_roster(path: Path) -> list[Member]:
    """``username,role[,name]`` rows (a header row is optional); role is instructor or student."""
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = [r for r in csv.reader(text.splitlines()) if r and any(x.strip() for x in r)]
    if rows and rows[0][0].strip().lower() == "username":
        rows = rows[1:]
    out, seen = [], set()
    for i, r in enumerate(rows, 1):
        user = r[0].strip().lower()
        role = (r[1].strip().lower() if len(r) > 1 else "student") or "student"
        name = r[2].strip() if len(r) > 2 else ""
        if not USERNAME_RE.match(user):
            raise RosterError(f"{path}: row {i}: {user!r} is not a usable username "
                              "(a lowercase letter, then lowercase letters, digits, '.', '_' or '-'; at most 31)")
        if role not in ROLES:
            raise RosterError(f"{path}: row {i}: role {role!r} is neither instructor nor student")
        if user in seen:
            raise RosterError(f"{path}: row {i}: {user} is listed twice")
        seen.add(user)
        out.append(Member(user, role, name))
    if not any(m.role == "instructor" for m in out):
        raise RosterError(f"{path}: no instructor in the roster")
    return out


@dataclass
class HubSettings:
    root: str = str(DEFAULT_ROOT)
    prefix: str = str(DEFAULT_PREFIX)        # the hub's environment: <prefix>/venv
    repo: str = str(REPO)
    course_id: str = "backprop"
    grader: str = "grader-backprop"           # owns the course directory, runs the formgrader
    home_base: str = "/home"
    ip: str = ""                              # the public address ("" = every interface)
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    formgrader_port: int = 9999
    mem_limit: str = "2G"                     # per student server (the server and its kernels)
    cpu_limit: float = 1.0                    # cores per student server
    pids_limit: int = 512
    cull_timeout: int = 3600                  # seconds without activity before a server is stopped
    cull_every: int = 300
    activity_interval: int = 300              # how often activity reaches the hub (s)
    poll_interval: int = 30                   # how often the hub checks each server (s)
    late_policy: str = "none"                 # nbgrader's LateSubmissionPlugin.penalty_method: none|zero
    cgroup: str = "backprop-hub"              # cgroup folder (per controller) holding one cgroup per user
    extra_config: str = ""                    # a Python config file loaded last (a real course's login)
    instructors: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)   # username -> the roster's name

    # --- derived paths -----------------------------------------------------------------------
    @property
    def hub_dir(self) -> Path:
        return Path(self.root) / "hub"

    @property
    def etc_dir(self) -> Path:
        return Path(self.root) / "etc" / "jupyter"

    @property
    def exchange(self) -> Path:
        return Path(self.root) / "exchange"

    @property
    def exchange_course(self) -> Path:
        return self.exchange / self.course_id

    @property
    def grading(self) -> Path:
        return Path(self.root) / "grading"

    @property
    def grader_home(self) -> Path:
        return Path(self.home_base) / self.grader

    @property
    def course_dir(self) -> Path:
        return self.grader_home / self.course_id

    @property
    def venv(self) -> Path:
        return Path(self.prefix) / "venv"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    @property
    def proxy(self) -> Path:
        return Path(self.repo) / "autograder" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def path(self) -> Path:
        return self.hub_dir / "settings.json"

    @property
    def members(self) -> list[str]:
        return [*self.instructors, *self.students]

    @property
    def url(self) -> str:
        return f"http://{self.ip or '127.0.0.1'}:{self.port}"

    def home(self, user: str) -> Path:
        return Path(self.home_base) / user

    # --- persistence ---------------------------------------------------------------------------
    def save(self) -> Path:
        self.hub_dir.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n")
        return self.path

    @classmethod
    def load(cls, root: str | Path) -> HubSettings:
        path = Path(root) / "hub" / "settings.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"no class set up in {root} (no {path}); run `make hub` or "
                                    "`python -m autograder.hub setup` first") from None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_file(cls, path: str | Path) -> HubSettings:
        return cls.load(Path(path).parent.parent)
