"""``python -m autograder.hub``: one class on one machine, on JupyterHub (run as root).

    python -m autograder.hub up --roster roster.csv      # set up (accounts, exchange, course), start the hub
    python -m autograder.hub release 01-chain-rule --due 2026-03-01T17:00
    python -m autograder.hub collect 01-chain-rule
    python -m autograder.hub grade 01-chain-rule          # the course's sandboxed pipeline
    python -m autograder.hub feedback 01-chain-rule       # students fetch it in their Assignment List
    python -m autograder.hub status                       # who is running a server

`make hub` installs what the hub needs and runs `up`. Every command takes ``--root`` (default
``/srv/backprop-hub``, or $BPL_HUB_ROOT): the folder of the class's state.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from dataclasses import fields
from pathlib import Path

from .settings import DEFAULT_ROOT, HubSettings, RosterError

# setup options: flag -> (settings field, type)
OPTIONS = {
    "--port": ("port", int), "--ip": ("ip", str), "--prefix": ("prefix", str), "--home-base": ("home_base", str),
    "--grader": ("grader", str), "--mem-limit": ("mem_limit", str), "--cpu-limit": ("cpu_limit", float),
    "--pids-limit": ("pids_limit", int), "--cull-timeout": ("cull_timeout", int),
    "--cull-every": ("cull_every", int), "--activity-interval": ("activity_interval", int),
    "--poll-interval": ("poll_interval", int), "--late-policy": ("late_policy", str),
    "--extra-config": ("extra_config", str), "--hub-port": ("hub_port", int),
    "--proxy-api-port": ("proxy_api_port", int), "--formgrader-port": ("formgrader_port", int),
    "--cgroup": ("cgroup", str),
}


def _settings(root: Path, overrides: dict | None = None) -> HubSettings:
    path = root / "hub" / "settings.json"
    s = HubSettings.load(root) if path.exists() else HubSettings(root=str(root))
    known = {f.name for f in fields(HubSettings)}
    for k, v in (overrides or {}).items():
        if v is not None and k in known:
            setattr(s, k, v)
    s.root = str(root)
    return s


def status(s: HubSettings) -> dict:
    """Users and their servers, from the hub's API (the hub must be running)."""
    token = (s.hub_dir / "admin-token").read_text().strip()
    req = urllib.request.Request(f"http://127.0.0.1:{s.port}/hub/api/users",
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        users = json.loads(r.read())
    return {u["name"]: {"running": bool(u.get("servers")), "last_activity": u.get("last_activity")} for u in users}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m autograder.hub", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path(os.environ.get("BPL_HUB_ROOT", DEFAULT_ROOT)),
                    help="the class's state folder (default: %(default)s)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, text in (("setup", "accounts from the roster, exchange, course directory, config"),
                       ("up", "setup, then start the hub in the foreground")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--roster", type=Path, required=name == "setup" or None,
                       help="class roster CSV: username,role[,name] (role: instructor or student)")
        p.add_argument("--no-passwords", action="store_true",
                       help="lock the accounts' passwords (a course that logs in with single sign-on)")
        for flag, (_, typ) in OPTIONS.items():
            p.add_argument(flag, type=typ, default=None)
    sub.add_parser("start", help="start the hub of a class set up before (foreground)")
    p = sub.add_parser("release", help="release an assignment from solutions/ into the exchange")
    p.add_argument("assignment")
    p.add_argument("--due", help="due date: ISO date and time (local time unless an offset is given) or 'now'")
    p = sub.add_parser("due", help="set or change an assignment's due date")
    p.add_argument("assignment")
    p.add_argument("when")
    for name, text in (("collect", "collect the newest submission of each student"),
                       ("grade", "grade the collected submissions with the course's pipeline"),
                       ("feedback", "release each student's feedback through the exchange")):
        p = sub.add_parser(name, help=text)
        p.add_argument("assignment")
        if name == "grade":
            p.add_argument("pipeline_args", nargs=argparse.REMAINDER,
                           help="after --: options for python -m autograder.grade (e.g. -j 4)")
    sub.add_parser("status", help="users and whether their server runs")
    p = sub.add_parser("teardown", help="remove the accounts, folders and cgroups this class created")
    p.add_argument("--yes", action="store_true", help="really remove them")
    a = ap.parse_args(argv)

    from . import classroom, instructor
    from .system import CommandError

    root = a.root.resolve()
    try:
        if a.cmd in ("setup", "up"):
            over = {field: getattr(a, flag.lstrip("-").replace("-", "_")) for flag, (field, _) in OPTIONS.items()}
            s = _settings(root, over)
            roster = a.roster
            if roster is None:
                if not s.path.exists():
                    ap.error("--roster is needed the first time")
                print(f"using the accounts set up before in {root}", file=sys.stderr)
            else:
                done = classroom.setup(s, roster, passwords=not a.no_passwords)
                print(f"class set up in {root}: {len(s.students)} student(s), {len(s.instructors)} instructor(s)"
                      + (f"; new accounts' passwords in {done['passwords']}" if done["passwords"] else ""),
                      file=sys.stderr)
            if a.cmd == "up":
                classroom.start(s)
            return 0
        s = HubSettings.load(root)
        if a.cmd == "start":
            classroom.start(s)
        elif a.cmd == "release":
            instructor.release(s, a.assignment, a.due)
        elif a.cmd == "due":
            instructor.check_assignment(a.assignment)
            instructor.set_due(s, a.assignment, a.when)
        elif a.cmd == "collect":
            instructor.collect(s, a.assignment)
        elif a.cmd == "grade":
            extra = [x for x in a.pipeline_args if x != "--"]
            instructor.grade(s, a.assignment, extra)
        elif a.cmd == "feedback":
            instructor.feedback(s, a.assignment)
        elif a.cmd == "status":
            for user, st in status(s).items():
                print(f"{user:24} {'running' if st['running'] else '-':8} last active {st['last_activity']}")
        elif a.cmd == "teardown":
            if not a.yes:
                ap.error("teardown removes the class's accounts and all their files: add --yes")
            gone = classroom.teardown(s)
            print(f"removed {len(gone)} account(s) and {root}", file=sys.stderr)
    except (instructor.HubError, RosterError, CommandError, PermissionError, FileNotFoundError, RuntimeError,
            ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
