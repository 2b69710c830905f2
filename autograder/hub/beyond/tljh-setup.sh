#!/usr/bin/env bash
# Beyond this setup on one bigger server: The Littlest JupyterHub (TLJH), which installs and
# maintains JupyterHub, the proxy, the culler and per-user systemd limits itself.
#
# NOT RUN in this repository (TLJH's installer takes over a whole machine: its own Python in
# /opt/tljh, systemd units, Traefik on ports 80/443). Written from TLJH's documented commands;
# run it as root on a fresh Ubuntu/Debian server, from a checkout of this repository.
#
# Differences to know: TLJH's users are Linux accounts named jupyter-<username>, so nbgrader's
# student ids (and the grading pipeline's student names) are jupyter-alice, jupyter-bob, ...;
# limits are systemd's (MemoryMax, CPUQuota) instead of our cgroups; the idle culler is TLJH's.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"

# 1. TLJH itself, with the first instructor as its admin
curl -L https://tljh.jupyter.org/bootstrap.py | sudo python3 - --admin teacher

# 2. the course environment for every user: the same pinned packages as Binder, the course
#    library as a copy, nbgrader's extensions as students need them
/opt/tljh/user/bin/pip install -r "$repo/binder/requirements.txt"
bash "$repo/autograder/hub/setup_env.sh" /opt/tljh/user "$repo"

# 3. limits, culling, login
tljh-config set limits.memory 2G
tljh-config set limits.cpu 1
tljh-config set services.cull.timeout 3600
tljh-config set services.cull.every 300
tljh-config set auth.type oauthenticator.generic.GenericOAuthenticator   # or keep FirstUseAuthenticator for a trial
tljh-config reload

# 4. the exchange (root-owned, as autograder/hub/classroom.py makes it) and the grader account
mkdir -p /srv/nbgrader/exchange && chmod 1777 /srv/nbgrader/exchange
useradd --create-home --shell /usr/sbin/nologin grader-backprop
cat > /opt/tljh/user/etc/jupyter/nbgrader_config.py <<'PY'
c = get_config()
c.CourseDirectory.course_id = "backprop"
c.Exchange.root = "/srv/nbgrader/exchange"
c.Execute.timeout = 120
PY

# 5. the formgrader as a hub service for the instructors (TLJH reads jupyterhub_config.d/)
cat > /opt/tljh/config/jupyterhub_config.d/formgrader.py <<'PY'
c.JupyterHub.load_groups = {"formgrade-backprop": {"users": ["teacher"]}}
c.JupyterHub.load_roles = [{"name": "formgrade-backprop", "groups": ["formgrade-backprop"],
    "scopes": ["access:services!service=backprop", "list:services", "read:services!service=backprop"]}]
c.JupyterHub.services = [{"name": "backprop", "url": "http://127.0.0.1:9999", "user": "grader-backprop",
    "cwd": "/home/grader-backprop", "command": ["/opt/tljh/user/bin/jupyterhub-singleuser"],
    "environment": {"JUPYTERHUB_DEFAULT_URL": "/formgrader"}, "oauth_no_confirm": True}]
PY
tljh-config reload hub
# The grader account's course directory and config are what `python -m autograder.hub setup`
# writes (classroom.py: course_nbgrader_config, the grader's ~/.jupyter); the instructor's loop
# (release, collect, grade, feedback) is then the same commands, with --root pointing at a
# settings.json whose grader, exchange and prefix (/opt/tljh/user) match this server.
