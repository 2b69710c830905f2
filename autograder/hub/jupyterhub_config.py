# JupyterHub configuration of one class on one machine (JupyterHub 5, LocalProcessSpawner).
#
# Started by `python -m autograder.hub start` (`make hub`), which points $BPL_HUB_SETTINGS at
# <root>/hub/settings.json (written by `python -m autograder.hub setup` from the roster).
# Everything a class may want to change lives there (autograder/hub/settings.py); this file
# only turns it into JupyterHub's settings. A real course's login goes into the file named
# by `extra_config` (see autograder/hub/README.md and login_sso_example.py), loaded last.
import json
import os
import sys
import time
from pathlib import Path

SETTINGS = Path(os.environ["BPL_HUB_SETTINGS"])
S = json.loads(SETTINGS.read_text())
sys.path.insert(0, S["repo"])

from autograder.hub.spawner import CgroupLocalProcessSpawner

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

hub_dir = SETTINGS.parent
venv = Path(S["prefix"]) / "venv"
etc = Path(S["root"]) / "etc" / "jupyter"
course = S["course_id"]
grader_home = Path(S["home_base"]) / S["grader"]
path = f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"

# --- the hub and its proxy -----------------------------------------------------------------
c.JupyterHub.bind_url = f"http://{S['ip']}:{S['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = S["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{S['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [str(Path(S["repo"]) / "autograder/hub/node_modules/.bin/configurable-http-proxy")]
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True            # stopping the hub stops every student server
c.JupyterHub.last_activity_interval = S["activity_interval"]

# --- who may log in ----------------------------------------------------------------------------
# The test login and the default: PAM, i.e. the Linux accounts `setup` made from the roster,
# with the passwords it wrote to <root>/hub/initial-passwords.csv. A real course replaces
# this with its single sign-on in `extra_config` (loaded at the end of this file).
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False
c.Authenticator.allowed_users = set(S["instructors"]) | set(S["students"])
c.Authenticator.admin_users = set()
c.Authenticator.allow_existing_users = False

# --- the student servers -----------------------------------------------------------------------
c.JupyterHub.spawner_class = CgroupLocalProcessSpawner
c.Spawner.cmd = [str(venv / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.mem_limit = S["mem_limit"]
c.Spawner.cpu_limit = float(S["cpu_limit"])
c.Spawner.poll_interval = S["poll_interval"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.env_keep = ["LANG", "LC_ALL"]
c.Spawner.environment = {
    "PATH": path,
    # the class's config (course id, exchange) before the environment's own
    "JUPYTER_CONFIG_PATH": str(etc),
    "JUPYTERHUB_ACTIVITY_INTERVAL": str(S["activity_interval"]),
    # one BLAS thread per kernel: a class shares the machine's cores
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}
c.CgroupLocalProcessSpawner.cgroup_parent = S["cgroup"]
c.CgroupLocalProcessSpawner.pids_limit = S["pids_limit"]

# --- groups and roles ---------------------------------------------------------------------------
# nbgrader's convention: formgrade-<course> for instructors, nbgrader-<course> for students.
c.JupyterHub.load_groups = {
    f"formgrade-{course}": {"users": list(S["instructors"])},
    f"nbgrader-{course}": {"users": list(S["students"])},
}
c.JupyterHub.load_roles = [
    {   # the formgrader service: instructors only
        "name": f"formgrade-{course}",
        "groups": [f"formgrade-{course}"],
        "scopes": [f"access:services!service={course}", "list:services", f"read:services!service={course}"],
    },
    {
        "name": "idle-culler",
        "services": ["idle-culler"],
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    },
    {   # the token of `python -m autograder.hub status` (root-only file in <root>/hub/)
        "name": "hub-admin",
        "services": ["hub-admin"],
        "scopes": ["admin:users", "admin:servers", "tokens", "list:services", "read:services",
                   "access:servers", "read:users:activity"],
    },
]

# --- services ----------------------------------------------------------------------------------
c.JupyterHub.services = [
    {   # nbgrader's formgrader, as nbgrader documents it for JupyterHub: a shared notebook server
        # run as the grader account. Its URL is /services/<course>/formgrader (a page of its own,
        # not an iframe: JupyterHub >= 4.1 forbids framing, which blanks nbgrader's Lab panel).
        "name": course,
        "url": f"http://127.0.0.1:{S['formgrader_port']}",
        "command": [str(venv / "bin" / "jupyterhub-singleuser")],
        "user": S["grader"],
        "cwd": str(grader_home),
        "environment": {
            "PATH": path,
            "JUPYTER_CONFIG_PATH": str(etc),
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        },
        "oauth_no_confirm": True,
        "display": True,
        "info": {"description": "nbgrader's formgrader for this course (instructors)"},
    },
    {
        "name": "idle-culler",
        "command": [str(venv / "bin" / "python"), "-m", "jupyterhub_idle_culler",
                    f"--timeout={S['cull_timeout']}", f"--cull-every={S['cull_every']}"],
    },
    {
        "name": "hub-admin",
        "api_token": (hub_dir / "admin-token").read_text().strip(),
    },
]

# --- a slow start of the formgrader must not stop the hub ------------------------------------------
# JupyterHub 5 gives a managed service 10 one-second tries to answer at start-up, then exits
# (jupyterhub/jupyterhub#5138, open: "there absolutely should be a configurable timeout").
# The formgrader is a whole Jupyter server; on a busy machine it needs longer. Keep waiting
# for it (while its process lives) up to MANAGED_SERVICE_TIMEOUT seconds; nothing else changes.
MANAGED_SERVICE_TIMEOUT = 180


def _patch_managed_service_wait():
    from jupyterhub.app import JupyterHub
    from jupyterhub.objects import Server
    from jupyterhub.utils import AnyTimeoutError

    original = JupyterHub.start_service

    async def start_service(self, service_name, service, ssl_context=None):
        if await original(self, service_name, service, ssl_context):
            return True
        if not (service.managed and service.url):
            return False
        deadline = time.monotonic() + MANAGED_SERVICE_TIMEOUT
        while time.monotonic() < deadline:
            if await service.spawner.poll() is not None:
                return False
            try:
                await Server.from_orm(service.orm.server).wait_up(http=True, timeout=5, ssl_context=ssl_context)
            except AnyTimeoutError:
                continue
            self.log.info("Service %s is up (it took longer than JupyterHub's own 10 s wait)", service_name)
            return True
        return False

    JupyterHub.start_service = start_service


_patch_managed_service_wait()

# --- a real course's login (and anything else local) -------------------------------------------
if S.get("extra_config"):
    load_subconfig(S["extra_config"])  # noqa: F821  (provided by traitlets)
