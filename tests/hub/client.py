"""Talk to a running class hub as its admin service, as a student, and to a student's kernel.

Everything goes through the hub's public port (the proxy), as a browser's requests would:
``/hub/api/...`` with the class's admin token, ``/user/<name>/...`` with a student's own
token (the Assignment List's fetch/submit/fetch_feedback handlers, the contents API), and a
kernel's websocket for code a student runs.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

COURSE = "backprop"


class HTTPFailure(AssertionError):
    def __init__(self, code: int, url: str, body: str) -> None:
        super().__init__(f"HTTP {code} from {url}: {body[:400]}")
        self.code = code


def request(url: str, *, method: str = "GET", token: str | None = None, data=None, form: dict | None = None,
            timeout: float = 60) -> tuple[int, bytes]:
    headers = {}
    body = None
    if token:
        headers["Authorization"] = f"token {token}"
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, HTTPFailure, ValueError) as exc:
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last: {last_exc})" if last_exc else ""))


class Hub:
    """The hub's REST API, as the class's ``hub-admin`` service."""

    def __init__(self, url: str, admin_token: str) -> None:
        self.url, self.token = url.rstrip("/"), admin_token

    def api(self, method: str, path: str, data=None, ok=(200, 201, 202, 204)):
        code, body = request(f"{self.url}/hub/api/{path.lstrip('/')}", method=method, token=self.token, data=data)
        if code not in ok:
            raise HTTPFailure(code, path, body.decode(errors="replace"))
        return json.loads(body) if body else None

    def user(self, name: str) -> dict:
        return self.api("GET", f"users/{name}")

    def running(self, name: str) -> bool:
        server = self.user(name).get("servers", {}).get("")
        return bool(server and server.get("ready"))

    def stopped(self, name: str) -> bool:
        return not self.user(name).get("servers", {}).get("")

    def touch(self, name: str) -> None:
        """Record activity of ``name`` and their server now (so the idle culler, whose short
        timeout the test class uses, does not stop a server a test is about to use)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        code, _ = request(f"{self.url}/hub/api/users/{name}/activity", method="POST", token=self.token,
                          data={"last_activity": now, "servers": {"": {"last_activity": now}}})
        if code not in (200, 204):       # no server (stopped, or the culler's just now): the user alone
            self.api("POST", f"users/{name}/activity", {"last_activity": now})

    def token_for(self, name: str) -> str:
        return self.api("POST", f"users/{name}/tokens", {"note": "tests/hub", "expires_in": 3600})["token"]

    def start(self, name: str, timeout: float = 180) -> float:
        """Start ``name``'s server (if it is not running); seconds until it answers.

        The hub refuses a start (400) while a stop is pending, e.g. when the idle culler (whose
        timeout the test class keeps short) is stopping the server just then: wait for the stop to
        end and ask again, rather than wait for a start that was never accepted."""
        t0 = time.monotonic()
        seen = {}

        def ready() -> bool:
            server = self.user(name).get("servers", {}).get("")
            seen["server"] = server
            if server and server.get("ready"):
                return True
            if not server or not server.get("pending"):     # nothing running, nothing under way: (re)start
                code, body = request(f"{self.url}/hub/api/users/{name}/server", method="POST", token=self.token)
                seen["start"] = (code, body.decode(errors="replace")[:200])
                if code not in (201, 202, 400):
                    raise HTTPFailure(code, f"users/{name}/server", body.decode(errors="replace"))
            return False

        try:
            wait_for(ready, timeout, f"{name}'s server to start", interval=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last server state {seen.get('server')}, last start {seen.get('start')}") from None
        return time.monotonic() - t0

    def stop(self, name: str, timeout: float = 60) -> None:
        if not self.stopped(name):
            self.api("DELETE", f"users/{name}/server", ok=(202, 204, 400))
            wait_for(lambda: self.stopped(name), timeout, f"{name}'s server to stop")

    def server_pid(self, name: str) -> int | None:
        return (self.user(name).get("servers", {}).get("", {}).get("state") or {}).get("pid")


@dataclass
class Student:
    """One account's view through its own server: what the Assignment List and JupyterLab do."""

    hub: Hub
    name: str
    token: str = ""

    def __post_init__(self) -> None:
        if not self.token:
            self.token = self.hub.token_for(self.name)

    @property
    def base(self) -> str:
        return f"{self.hub.url}/user/{self.name}"

    def call(self, method: str, path: str, *, data=None, form=None, ok=(200, 201, 204), timeout: float = 120):
        def send():
            return request(f"{self.base}/{path.lstrip('/')}", method=method, token=self.token, data=data,
                           form=form, timeout=timeout)

        code, body = send()
        if code not in ok and not self.hub.running(self.name):
            # the idle culler (whose timeout the test class keeps short) decided on a list it read just
            # before this server's activity was recorded, and stopped it under the request (the hub then
            # answers for the missing route): start the server again (start waits out the stop), resend once
            self.start()
            code, body = send()
        if code not in ok:
            raise HTTPFailure(code, f"{self.name}: {path}", body.decode(errors="replace"))
        return json.loads(body) if body else None

    def start(self) -> float:
        self.hub.touch(self.name)
        return self.hub.start(self.name)

    # --- nbgrader's Assignment List (the same requests its buttons send) ----------------------------
    def assignments(self) -> list[dict]:
        out = self.call("GET", f"assignments?course_id={COURSE}")
        assert out["success"], out
        return out["value"]

    def action(self, action: str, aid: str) -> dict:
        out = self.call("POST", f"assignments/{action}", form={"course_id": COURSE, "assignment_id": aid})
        assert out.get("success", False), f"{self.name}: {action} {aid}: {out}"
        return out

    def fetch(self, aid: str) -> dict:
        return self.action("fetch", aid)

    def submit(self, aid: str) -> dict:
        return self.action("submit", aid)

    def fetch_feedback(self, aid: str) -> dict:
        return self.action("fetch_feedback", aid)

    # --- files (JupyterLab's contents API) ----------------------------------------------------
    def read(self, path: str, kind: str = "file"):
        out = self.call("GET", f"api/contents/{urllib.parse.quote(path)}?content=1&type={kind}")
        return out

    def exists(self, path: str) -> bool:
        code, _ = request(f"{self.base}/api/contents/{urllib.parse.quote(path)}?content=0", token=self.token)
        return code == 200

    def write_notebook(self, path: str, nb: dict) -> None:
        self.call("PUT", f"api/contents/{urllib.parse.quote(path)}", data={"type": "notebook", "format": "json",
                                                                            "content": nb})

    def write_text(self, path: str, text: str) -> None:
        self.call("PUT", f"api/contents/{urllib.parse.quote(path)}",
                  data={"type": "file", "format": "text", "content": text})

    # --- a kernel ---------------------------------------------------------------------------------
    def kernel(self) -> Kernel:
        info = self.call("POST", "api/kernels", data={"name": "python3"})
        return Kernel(self, info["id"])


class Kernel:
    """A kernel of a student's server, driven over its websocket (JSON messages, protocol 5.3)."""

    def __init__(self, student: Student, kid: str) -> None:
        self.student, self.id = student, kid
        self.session = uuid.uuid4().hex

    def execute(self, code: str, timeout: float = 120) -> dict:
        """Run ``code``; returns {"status": ok|error|dead, "stdout": ..., "error": ...}.

        In a thread of its own: Playwright's sync API keeps an event loop in the main thread."""
        with ThreadPoolExecutor(1) as ex:
            return ex.submit(asyncio.run, self._execute(code, timeout)).result()

    async def _execute(self, code: str, timeout: float) -> dict:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import WebSocketClosedError, websocket_connect

        url = self.student.base.replace("http://", "ws://") + f"/api/kernels/{self.id}/channels?session_id={self.session}"
        conn = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {self.student.token}"},
                                                   connect_timeout=30))
        msg_id = uuid.uuid4().hex
        msg = {"header": {"msg_id": msg_id, "username": self.student.name, "session": self.session,
                          "msg_type": "execute_request", "version": "5.3",
                          "date": datetime.now(UTC).isoformat()},
               "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
               "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                           "allow_stdin": False, "stop_on_error": True}}
        await conn.write_message(json.dumps(msg))
        out = {"status": None, "stdout": "", "error": ""}
        idle = replied = False
        deadline = time.monotonic() + timeout
        try:
            while not (idle and replied):
                left = deadline - time.monotonic()
                if left <= 0:
                    out["status"] = out["status"] or "timeout"
                    break
                try:
                    raw = await asyncio.wait_for(conn.read_message(), left)
                except TimeoutError:
                    out["status"] = out["status"] or "timeout"
                    break
                if raw is None:        # the server closed the socket: the kernel (or server) is gone
                    out["status"] = out["status"] or "dead"
                    break
                m = json.loads(raw)
                if m.get("parent_header", {}).get("msg_id") != msg_id:
                    if m.get("msg_type") == "status" and m["content"].get("execution_state") == "dead":
                        out["status"] = "dead"
                        break
                    continue
                kind = m["msg_type"]
                if kind == "stream":
                    out["stdout"] += m["content"].get("text", "")
                elif kind == "error":
                    out["error"] = f"{m['content'].get('ename')}: {m['content'].get('evalue')}"
                elif kind == "status" and m["content"].get("execution_state") == "idle":
                    idle = True
                elif kind == "status" and m["content"].get("execution_state") == "dead":
                    out["status"] = "dead"
                    break
                elif kind == "execute_reply":
                    replied = True
                    out["status"] = m["content"].get("status")
        except WebSocketClosedError:
            out["status"] = out["status"] or "dead"
        finally:
            conn.close()
        return out

    def shutdown(self) -> None:
        try:
            self.student.call("DELETE", f"api/kernels/{self.id}", ok=(204, 404))
        except (OSError, HTTPFailure):
            pass
