"""Many students fetching and submitting at once through nbgrader's exchange (run as root).

    python -m tests.hub.load_driver --exchange /srv/.../exchange --course backprop --assignment 01-chain-rule \
        --rounds 2 user1 user2 ...

nbgrader is imported once; then one process per student is forked, becomes that student
(uid, gid, groups, $HOME, working folder), waits at a common start line, and runs nbgrader's
own exchange code as the Assignment List's buttons do: fetch, then ``rounds`` times write a
notebook that names the student and the round, and submit it. One JSON line per student on
stdout: {"user", "ok", "fetch_s", "submit_s": [...], "error"}.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import sys
import time
import traceback


def student(user: str, exchange: str, course: str, aid: str, rounds: int, go_fd: int, out_fd: int) -> None:
    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)
    os.chdir(entry.pw_dir)
    import nbformat
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
    from traitlets.config import Config

    c = Config()
    c.Exchange.root = exchange
    c.CourseDirectory.course_id = course
    c.CourseDirectory.assignment_id = aid
    result = {"user": user, "ok": False, "fetch_s": None, "submit_s": [], "error": ""}
    os.read(go_fd, 1)      # the start line: every student goes at once
    try:
        t0 = time.monotonic()
        ExchangeFetchAssignment(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c),
                                config=c).start()
        result["fetch_s"] = round(time.monotonic() - t0, 3)
        path = os.path.join(entry.pw_dir, aid, f"{aid}.ipynb")
        for r in range(1, rounds + 1):
            nb = nbformat.read(path, as_version=4)
            nb.cells.append(nbformat.v4.new_markdown_cell(f"load {user} round {r}"))
            nbformat.write(nb, path)
            t0 = time.monotonic()
            ExchangeSubmit(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c),
                           config=c).start()
            result["submit_s"].append(round(time.monotonic() - t0, 3))
        result["ok"] = True
    except BaseException as exc:  # noqa: BLE001 - reported, never raised: the child must exit
        result["error"] = f"{type(exc).__name__}: {exc} {traceback.format_exc()[-600:]}"
    os.write(out_fd, (json.dumps(result) + "\n").encode())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exchange", required=True)
    ap.add_argument("--course", required=True)
    ap.add_argument("--assignment", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("users", nargs="+")
    a = ap.parse_args(argv)
    # imported before forking, so that each child starts warm (run it with the students' Python:
    # after dropping to a student's uid, whatever is still loaded lazily must be readable to them)
    import nbformat  # noqa: F401
    import nbgrader.auth
    import nbgrader.coursedir
    import nbgrader.exchange.default  # noqa: F401

    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pids = {}
    for user in a.users:
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.close(out_r)
            code = 1
            try:
                student(user, a.exchange, a.course, a.assignment, a.rounds, go_r, out_w)
                code = 0
            finally:
                os._exit(code)
        pids[pid] = user
    os.close(go_r)
    os.close(out_w)
    t0 = time.monotonic()
    os.write(go_w, b"x" * len(pids))
    os.close(go_w)
    buf = b""
    deadline = time.monotonic() + a.timeout
    while pids and time.monotonic() < deadline:
        pid, _ = os.waitpid(-1, os.WNOHANG)
        if pid:
            pids.pop(pid, None)
        else:
            time.sleep(0.05)
    for pid in pids:   # a student still running past the budget: stopped and reported missing
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    while chunk := os.read(out_r, 65536):
        buf += chunk
    sys.stdout.write(buf.decode())
    sys.stdout.write(json.dumps({"elapsed_s": round(time.monotonic() - t0, 3)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
