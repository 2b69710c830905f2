"""A class on JupyterHub, end to end: one instructor, five students, real accounts and processes.

The tests run in order on one hub (see conftest.py) and follow a class through one assignment:
release, fetch (four students through their servers' Assignment List requests, one in the
browser), submit (solved, blank, wrong, late, tampered), collect, grade with the course's
pipeline, feedback; then the formgrader, isolation tried as a student would, the memory limit,
the idle culler, the size of a student server, and a load run of 30 students at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import http.cookiejar
import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.hub import notebooks as nbs
from tests.hub.client import COURSE, Student, wait_for
from tests.hub.conftest import AID, INSTRUCTOR, LIMITS, REPO, STUDENTS, hub_cli, write_roster

pytestmark = [pytest.mark.slow]

SOLVED, BLANK, WRONG, LATE, TAMPER = STUDENTS
API_STUDENTS = [SOLVED, BLANK, LATE, TAMPER]      # WRONG does everything in the browser


def need(klass, *keys):
    missing = [k for k in keys if k not in klass.state]
    if missing:
        pytest.fail(f"an earlier step of the class did not finish: {', '.join(missing)}")
    return [klass.state[k] for k in keys]


def student(klass, name: str) -> Student:
    """``name`` through their own server (started if the culler stopped it)."""
    tokens = klass.state.setdefault("tokens", {})
    if name not in tokens:
        tokens[name] = klass.hub.token_for(name)
    st = Student(klass.hub, name, tokens[name])
    st.start()
    return st


def start_all(klass, names: list[str]) -> dict[str, Student]:
    """Start several students' servers at once (as a class arriving does); seconds per start."""
    with cf.ThreadPoolExecutor(len(names)) as ex:
        futures = {n: ex.submit(lambda n=n: (time.monotonic(), student(klass, n), time.monotonic())) for n in names}
        out = {}
        for n, f in futures.items():
            t0, st, t1 = f.result()
            out[n] = st
            klass.figures.setdefault("server_start_s", []).append(round(t1 - t0, 2))
    return out


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
def test_the_class_is_set_up_on_real_accounts(klass):
    import pwd
    import stat

    s = klass.settings
    for name in [INSTRUCTOR, *STUDENTS, s.grader]:
        entry = pwd.getpwnam(name)       # real Linux accounts
        home = Path(entry.pw_dir)
        assert home.is_dir() and stat.S_IMODE(home.stat().st_mode) == 0o700, home
        assert home.stat().st_uid == entry.pw_uid
    ex = s.exchange
    assert ex.stat().st_uid == 0 and stat.S_IMODE(ex.stat().st_mode) == 0o1777     # root-owned, o+rwx
    modes = {d: stat.S_IMODE((s.exchange_course / d).stat().st_mode) for d in ("inbound", "outbound", "feedback")}
    assert modes == {"inbound": 0o2733, "outbound": 0o755, "feedback": 0o711}
    assert stat.S_IMODE(s.course_dir.stat().st_mode) == 0o700
    services = klass.hub.api("GET", "services")
    assert {COURSE, "idle-culler"} <= set(services)
    assert services[COURSE]["url"].startswith("http://127.0.0.1:")


def test_instructor_releases_notebook_01(klass):
    t0 = time.monotonic()
    out = hub_cli("release", AID, "--due", "2099-01-01T12:00+00:00")
    klass.figures["release_s"] = round(time.monotonic() - t0, 2)
    released = klass.settings.exchange_course / "outbound" / AID / f"{AID}.ipynb"
    assert released.is_file(), out.stderr
    # the checked release: the same notebook as course/, which the suite keeps equal to a fresh build
    assert released.read_bytes() == (REPO / "course" / AID / f"{AID}.ipynb").read_bytes()
    text = released.read_text()
    assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
    klass.state["release"] = json.loads(released.read_text())


def test_every_student_fetches(klass):
    (release,) = need(klass, "release")
    t0 = time.monotonic()
    studs = start_all(klass, API_STUDENTS)
    klass.figures["start_4_servers_at_once_s"] = round(time.monotonic() - t0, 2)
    for name, st in studs.items():
        listed = {a["assignment_id"]: a["status"] for a in st.assignments()}
        assert listed.get(AID) == "released", (name, listed)
        t1 = time.monotonic()
        after = st.fetch(AID)["value"]
        klass.figures.setdefault("fetch_roundtrip_s", []).append(round(time.monotonic() - t1, 3))
        assert any(a["assignment_id"] == AID and a["status"] == "fetched" for a in after)
        mine = st.read(f"{AID}/{AID}.ipynb", "notebook")["content"]
        assert [c["source"] for c in mine["cells"]] == ["".join(c["source"]) if isinstance(c["source"], list)
                                                         else c["source"] for c in release["cells"]]
    klass.state["fetched"] = True


CULLER_READ = re.compile(r"GET /hub/api/users\?state=\S* \(idle-culler@")


def settle(klass, name: str) -> None:
    """Record ``name``'s activity now, then let the idle culler (every few seconds, with this class's
    short timeout) read the users twice: a cull it decided on older activity has then been asked for,
    and ``name``'s server is left running or stopped, not between."""
    mark = len(klass.log_text())
    klass.hub.touch(name)
    wait_for(lambda: len(CULLER_READ.findall(klass.hub_log_since(mark))) >= 2, 60, "the idle culler to look twice")
    wait_for(lambda: klass.hub.running(name) or klass.hub.stopped(name), 120, f"{name}'s server to settle")


def login(browser, klass, name: str):
    """A new browser session logged in as ``name`` (the hub's login form), on their JupyterLab."""
    settle(klass, name)   # a server idle since the last test is not culled under the new session
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(120_000)
    page = ctx.new_page()
    page.goto(f"{klass.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", klass.passwords[name])
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf".*/user/{re.escape(name)}/lab.*"), timeout=180_000)
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").wait_for()
    return ctx, page


def open_assignment_list(page):
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu-item:visible").all_inner_texts()
    page.locator(".lm-Menu-item:visible", has_text="Assignment List").click()
    page.locator("#released_assignments_list").wait_for()
    return [i.strip() for i in items]


def test_a_student_works_in_the_browser(klass, browser, shot):
    """Log in, Assignment List, fetch, answer, Validate, save, submit: all in JupyterLab."""
    from tests.browser.lab import close_dialog, find_cell, press_validate, type_into_cell, wait_notebook_ready

    need(klass, "fetched")
    ctx, page = login(browser, klass, WRONG)
    shot(page, "lab")
    menu = open_assignment_list(page)
    assert menu == ["Assignment List"], f"a student sees instructor entries: {menu}"
    released = page.locator("#released_assignments_list .list_item", has_text=AID)
    released.wait_for()
    shot(page, "assignment-list")
    released.locator("button", has_text="Fetch").click()
    fetched = page.locator("#fetched_assignments_list .list_item", has_text=AID).first
    fetched.wait_for()
    shot(page, "fetched")
    fetched.locator("a", has_text=AID).first.click()                       # expand: its notebooks
    page.locator("#fetched_assignments_list .assignment-notebooks a", has_text=AID).first.click()
    wait_notebook_ready(page, f"{AID}.ipynb", timeout=180_000)
    wrong_ex, answers = nbs.wrong_answers(AID)
    for gid in nbs.answer_ids(nbs.source(AID)):
        type_into_cell(page, find_cell(page, "YOUR CODE HERE"), answers[gid])
    page.keyboard.press("ControlOrMeta+s")
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").wait_for(state="detached")
    shot(page, "answered")
    dialog = press_validate(page, timeout=240_000)
    verdict = dialog.inner_text()
    shot(page, "validate")
    assert "failed" in verdict.lower() or "error" in verdict.lower(), verdict     # the wrong exercise shows
    close_dialog(page)
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Assignments").click()
    page.locator("#fetched_assignments_list button", has_text="Submit").first.click()
    page.locator("#submitted_assignments_list .list_item", has_text=AID).first.wait_for(timeout=120_000)
    shot(page, "submitted")
    ctx.close()
    klass.state["wrong_exercise"] = wrong_ex


def test_students_submit_solved_blank_tampered_then_late(klass):
    (release, _) = need(klass, "release", "wrong_exercise")
    hand_ins = {SOLVED: nbs.solved(AID, release), BLANK: None, TAMPER: nbs.tampered(AID, release)}
    for name, nb in hand_ins.items():
        st = student(klass, name)
        if nb is not None:
            st.write_notebook(f"{AID}/{AID}.ipynb", nb)
        t0 = time.monotonic()
        after = st.submit(AID)["value"]
        klass.figures.setdefault("submit_roundtrip_s", []).append(round(time.monotonic() - t0, 3))
        assert any(a["status"] == "submitted" for a in after)
    # the deadline passes; then the late student hands in a solved notebook
    hub_cli("due", AID, "now")
    st = student(klass, LATE)
    st.write_notebook(f"{AID}/{AID}.ipynb", nbs.solved(AID, release))
    st.submit(AID)
    inbound = klass.settings.exchange_course / "inbound"
    owners = sorted(p.name.split("+")[0] for p in inbound.iterdir())
    assert owners == sorted(STUDENTS), owners
    klass.state["submitted"] = True


def test_collect_grade_and_return_feedback(klass):
    need(klass, "submitted")
    for step in ("collect", "grade", "feedback"):
        t0 = time.monotonic()
        out = hub_cli(step, AID, timeout=1200)
        klass.figures[f"{step}_s"] = round(time.monotonic() - t0, 2)
        klass.state[f"{step}_log"] = out.stderr
    s = klass.settings
    assert sorted(p.name for p in (s.course_dir / "submitted").iterdir()) == sorted(STUDENTS)
    from autograder.hub.instructor import read_grades

    graded = read_grades(s.grading / AID / "grades.csv", AID, list(STUDENTS))
    rows = {n: g["row"] for n, g in graded.items()}
    pts = nbs.points(AID)
    full = sum(pts.values())
    score = {n: g["score"] for n, g in graded.items() if g["score"] is not None}
    assert score[SOLVED] == full
    assert score[BLANK] == 0
    wrong_ex = klass.state["wrong_exercise"]
    assert full - pts[wrong_ex] <= score[WRONG] < full, (score[WRONG], wrong_ex)
    assert graded[TAMPER]["flagged"], rows[TAMPER]                       # tampering: flagged for review
    assert not any(graded[n]["flagged"] for n in STUDENTS if n != TAMPER), rows
    # late: marked late with nbgrader's late policy ("zero" in this class)
    assert float(rows[LATE]["seconds_late"]) > 0 and score[LATE] == full
    assert float(rows[LATE]["late_penalty"]) == full and float(rows[LATE]["final"]) == 0
    assert all(float(rows[n]["seconds_late"]) == 0 for n in STUDENTS if n != LATE)
    # the course gradebook (what the formgrader shows) has every submission, the late one penalised
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{s.course_dir / 'gradebook.db'}") as gb:
        subs = {x.student.id: x for x in gb.assignment_submissions(AID)}
        assert sorted(subs) == sorted(STUDENTS)
        assert subs[LATE].total_seconds_late > 0 and subs[LATE].late_submission_penalty == full
        assert subs[SOLVED].score == full and subs[BLANK].score == 0
    klass.state["scores"] = score
    klass.state["graded"] = True


def test_every_student_fetches_only_their_own_feedback(klass):
    need(klass, "graded")
    pages = klass.settings.grading / AID / "out" / "feedback"
    got = {}
    for name, st in start_all(klass, API_STUDENTS).items():
        t0 = time.monotonic()
        st.fetch_feedback(AID)
        klass.figures.setdefault("fetch_feedback_roundtrip_s", []).append(round(time.monotonic() - t0, 3))
        stamps = st.read(f"{AID}/feedback", "directory")["content"]
        files = [f for d in stamps for f in st.read(d["path"], "directory")["content"]]
        assert [f["name"] for f in files] == [f"{AID}.html"], (name, files)
        got[name] = st.read(files[0]["path"])["content"]
        assert got[name] == (pages / name / f"{AID}.html").read_text(), f"{name} got someone else's feedback"
    # feedback pages name no hidden test, and the blank student's shows a score of 0
    assert "### BEGIN HIDDEN TESTS" not in "".join(got.values())
    assert re.search(r"Score:\s*0(\.0)?\s*/\s*10", got[BLANK])


def test_the_browser_student_fetches_feedback(klass, browser, shot):
    need(klass, "graded")
    ctx, page = login(browser, klass, WRONG)
    open_assignment_list(page)
    submitted = page.locator("#submitted_assignments_list .list_item", has_text=AID).first
    submitted.wait_for()
    page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").first.click()
    page.locator("#submitted_assignments_list a", has_text="view feedback").first.wait_for(timeout=120_000)
    shot(page, "feedback-fetched")
    page.locator("#submitted_assignments_list a", has_text="view feedback").first.click()
    page.locator(".jp-DirListing-item", has_text=f"{AID}.html").dblclick()   # in the submission's folder
    frame = page.frame_locator(".jp-HTMLViewer iframe").first
    frame.locator("body", has_text="Score").wait_for()
    text = frame.locator("body").inner_text()
    shot(page, "feedback-page")
    mine = klass.state["scores"][WRONG]
    assert re.search(rf"Score:\s*{mine:g}(\.0)?\s*/\s*10", text), text[:800]
    ctx.close()


def test_the_formgrader_shows_the_assignment_and_its_submissions(klass, browser, shot):
    need(klass, "graded")
    ctx, page = login(browser, klass, INSTRUCTOR)
    page.goto(f"{klass.url}/services/{COURSE}/formgrader")
    row = page.locator("tr", has_text=AID).first
    row.wait_for()
    shot(page, "manage-assignments")
    cells = row.locator("td").all_inner_texts()
    assert any(c.strip() == str(len(STUDENTS)) for c in cells), cells      # # Submissions
    page.goto(f"{klass.url}/services/{COURSE}/formgrader/manage_submissions/{AID}")
    table = page.locator("tbody")
    for name in STUDENTS:
        table.locator("tr", has_text=name).first.wait_for()
    shot(page, "submissions")
    text = table.inner_text()
    assert all(name in text for name in STUDENTS)
    ctx.close()
    # a student is refused the formgrader
    sctx, spage = login(browser, klass, SOLVED)
    resp = spage.goto(f"{klass.url}/services/{COURSE}/formgrader")
    assert resp.status == 403
    shot(spage, "student-refused")
    sctx.close()


ATTEMPTS = r'''
import glob, json, os, subprocess
def attempt(path, how="read"):
    try:
        if how == "list":
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        return "ALLOWED"
    except OSError as e:
        return type(e).__name__
out = {
  "other home": attempt(OTHER_HOME, "list"),
  "other notebook": attempt(OTHER_HOME + "/01-chain-rule/01-chain-rule.ipynb"),
  "inbound": attempt(EXCHANGE + "/inbound", "list"),
  "feedback folder": attempt(EXCHANGE + "/feedback", "list"),
  "course source": attempt(COURSE_DIR + "/source/01-chain-rule/01-chain-rule.ipynb"),
  "gradebook": attempt(COURSE_DIR + "/gradebook.db"),
  "course dir": attempt(COURSE_DIR, "list"),
  "repository solutions": attempt(REPO + "/solutions/01-chain-rule/01-chain-rule.ipynb"),
  "guessed submissions": glob.glob(EXCHANGE + "/inbound/" + VICTIM + "+*"),
}
print(json.dumps(out))
'''


def test_isolation_as_a_student_would_try(klass):
    need(klass, "graded")
    s = klass.settings
    st = student(klass, BLANK)
    k = st.kernel()
    try:
        setup = (f"OTHER_HOME={str(s.home(SOLVED))!r}; EXCHANGE={str(s.exchange_course)!r}; "
                 f"COURSE_DIR={str(s.course_dir)!r}; REPO={str(REPO)!r}; VICTIM={SOLVED!r}\n")
        r = k.execute(setup + ATTEMPTS)
        assert r["status"] == "ok", r
        seen = json.loads(r["stdout"].strip().splitlines()[-1])
        assert seen.pop("guessed submissions") == []
        assert all(v == "PermissionError" for v in seen.values()), seen
        # submitting in another's name: nbgrader lets the file land, collect must not take it
        victim_before = sha((s.course_dir / "submitted" / SOLVED / AID / f"{AID}.ipynb").read_bytes())
        r = k.execute("import subprocess, os\n"
                      f"p = subprocess.run(['nbgrader', 'submit', {AID!r}, '--student', {SOLVED!r}], "
                      "cwd=os.path.expanduser('~'), capture_output=True, text=True)\nprint(p.returncode)")
        assert r["status"] == "ok" and r["stdout"].strip().endswith("0"), r
        # and a symbolic link dressed as one's own submission, pointing at the instructor's source
        r = k.execute(f"import os, datetime\nts = datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S.%f UTC')\n"
                      f"os.symlink({str(s.course_dir / 'source' / AID)!r}, "
                      f"{str(s.exchange_course / 'inbound')!r} + '/{BLANK}+{AID}+' + ts + '+link')")
        assert r["status"] == "ok", r
    finally:
        k.shutdown()
    out = hub_cli("collect", AID)
    quarantined = sorted(p.name for p in (s.course_dir / "quarantine").iterdir() if p.name != "README.txt")
    assert any(q.startswith(f"{SOLVED}+") for q in quarantined), out.stderr
    assert any(q.startswith(f"{BLANK}+") and q.endswith("+link") for q in quarantined), out.stderr
    assert f"written by {BLANK}" in out.stderr
    assert sha((s.course_dir / "submitted" / SOLVED / AID / f"{AID}.ipynb").read_bytes()) == victim_before
    blank_nb = (s.course_dir / "submitted" / BLANK / AID / f"{AID}.ipynb")
    assert blank_nb.is_file() and not blank_nb.is_symlink()
    assert "### BEGIN SOLUTION" not in blank_nb.read_text()


def test_a_server_past_its_memory_limit_is_stopped_alone(klass):
    from autograder.hub.cgroups import UserCgroup

    need(klass, "graded")
    s = klass.settings
    calm = student(klass, SOLVED)
    greedy = student(klass, BLANK)
    calm_kernel = calm.kernel()
    assert calm_kernel.execute("y = 41")["status"] == "ok"
    mark = len(klass.log_text())
    k = greedy.kernel()
    r = k.execute("hog = bytearray(3 * 1024**3)", timeout=120)      # 3 GB, the limit is 768 MB
    assert r["status"] in ("dead", "error", "timeout"), r
    wait_for(lambda: klass.hub.stopped(BLANK), 60, f"{BLANK}'s server to be stopped")
    assert f"{BLANK}'s server went past its memory limit" in klass.hub_log_since(mark)
    # the others: untouched
    assert klass.hub.running(SOLVED)
    assert calm_kernel.execute("print(y + 1)")["stdout"].strip() == "42"
    assert UserCgroup(SOLVED, s.cgroup).oom_kills() == 0
    assert UserCgroup(SOLVED, s.cgroup).memory_limit() == 768 * 2**20
    calm_kernel.shutdown()


def _login_with_password(url: str, name: str, password: str):
    """The hub's login form over HTTP; returns an opener that holds the session cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{url}/hub/login", timeout=60).read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": name, "password": password, "_xsrf": xsrf}).encode()
    for target, data in ((f"{url}/hub/login", form), (f"{url}/hub/spawn", None)):   # log in; start my server
        try:
            opener.open(target, data=data, timeout=120).read()
        except urllib.error.HTTPError as e:      # a page about a server still starting: fine
            if e.code in (401, 403):
                raise
    return opener


def test_an_idle_server_is_culled_and_the_work_is_kept(klass):
    need(klass, "graded")
    st = student(klass, TAMPER)
    st.write_text("saved-work.txt", "my notes, saved before going idle\n")
    mark = len(klass.log_text())
    t0 = time.monotonic()
    wait_for(lambda: klass.hub.stopped(TAMPER), LIMITS["cull_timeout"] + LIMITS["cull_every"] + 120,
             "the idle culler to stop the server", interval=1)
    klass.figures["culled_after_idle_s"] = round(time.monotonic() - t0, 1)
    # the hub logs the culler's request when it has answered it, just after the server is gone
    wait_for(lambda: re.search(rf"DELETE /hub/api/users/{TAMPER}/server \(idle-culler", klass.hub_log_since(mark)),
             30, "the culler's request in the hub's log")
    # logging in again starts the server; the saved work is there
    opener = _login_with_password(klass.url, TAMPER, klass.passwords[TAMPER])

    def saved():   # File > Download: a page request, so the server's own login (OAuth) happens first
        with opener.open(f"{klass.url}/user/{TAMPER}/files/saved-work.txt", timeout=60) as r:
            return r.read().decode()

    wait_for(lambda: klass.hub.running(TAMPER), 180, "the server started by logging in again")
    assert saved() == "my notes, saved before going idle\n"


def _usage(user: str, cgroup: str) -> dict:
    """What a user's server uses now: the cgroup's memory charge (page cache included), the RSS
    and PSS of its processes (MB; PSS shares libraries fairly between servers), and the CPU
    seconds its processes have used."""
    import os

    from autograder.hub.cgroups import UserCgroup

    cg = UserCgroup(user, cgroup)
    rss = pss = ticks = 0
    for pid in cg.pids():
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])       # utime + stime
        except (OSError, ValueError, IndexError):
            continue
    return {"cgroup_mb": round(cg.memory_bytes() / 2**20, 1), "rss_mb": round(rss / 1024, 1),
            "pss_mb": round(pss / 1024, 1), "processes": len(cg.pids()),
            "cpu_s": round(ticks / os.sysconf("SC_CLK_TCK"), 2)}


def test_sizing_a_student_server(klass):
    need(klass, "graded")
    s = klass.settings
    klass.hub.stop(SOLVED)
    t0 = time.monotonic()
    st = student(klass, SOLVED)
    klass.figures["server_start_idle_s"] = round(time.monotonic() - t0, 2)
    idle = _usage(SOLVED, s.cgroup)
    nb = st.read(f"{AID}/{AID}.ipynb", "notebook")["content"]
    k = st.kernel()
    t0 = time.monotonic()
    failed = 0
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            failed += k.execute(cell["source"], timeout=300)["status"] != "ok"
    klass.figures["notebook_01_run_s"] = round(time.monotonic() - t0, 1)
    running = _usage(SOLVED, s.cgroup)
    k.shutdown()
    klass.figures["idle_server"] = idle
    klass.figures["server_running_notebook_01"] = running
    klass.figures["notebook_01_cells_failed"] = failed
    assert failed == 0
    assert 0 < idle["pss_mb"] < running["pss_mb"] < 768


def test_thirty_students_fetch_and_submit_at_once(klass, tmp_path):
    need(klass, "graded")
    s = klass.settings
    crowd = [f"hubt-l{i:02d}" for i in range(1, 31)]
    roster = write_roster(tmp_path / "roster.csv", {**STUDENTS, **{u: "load" for u in crowd}})
    t0 = time.monotonic()
    hub_cli("setup", "--roster", str(roster))          # adding students to a running class: setup again
    klass.figures["add_30_accounts_s"] = round(time.monotonic() - t0, 1)
    inbound = s.exchange_course / "inbound"
    # the students' own Python (the hub's environment): the project's .venv is inside the repository
    proc = subprocess.run([str(s.bin("python")), "-m", "tests.hub.load_driver", "--exchange", str(s.exchange),
                           "--course", COURSE, "--assignment", AID, "--rounds", "2", *crowd],
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    lines = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.strip()]
    results = {r["user"]: r for r in lines if "user" in r}
    elapsed = next(r["elapsed_s"] for r in lines if "elapsed_s" in r)
    failed = {u: r["error"][:300] for u, r in results.items() if not r["ok"]}
    assert not failed and len(results) == 30, (failed, proc.stderr[-2000:])
    landed = [p.name for p in inbound.iterdir() if p.name.split("+")[0] in crowd]
    assert len(landed) == 60                                          # 30 students x 2 submissions
    t0 = time.monotonic()
    hub_cli("collect", AID)
    klass.figures["load"] = {
        "students": 30, "submissions_each": 2, "fetch_and_submit_wall_s": elapsed,
        "submissions_landed": len(landed),
        "fetch_s_max": max(r["fetch_s"] for r in results.values()),
        "submit_s_max": max(max(r["submit_s"]) for r in results.values()),
        "collect_s": round(time.monotonic() - t0, 2),
    }
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{s.course_dir / 'gradebook.db'}") as gb:
        subs = [x.student.id for x in gb.assignment_submissions(AID)]
    for u in crowd:
        nb = nbformat.read(str(s.course_dir / "submitted" / u / AID / f"{AID}.ipynb"), as_version=4)
        assert nb.cells[-1].source == f"load {u} round 2"                 # the newest of the two
        assert subs.count(u) == 1                                          # in the gradebook once
    klass.figures["load"]["in_gradebook"] = sum(subs.count(u) for u in crowd)
