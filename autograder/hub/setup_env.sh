#!/usr/bin/env bash
# The hub's environment: what a student server and the formgrader run (called by `make hub-env`).
#   autograder/hub/setup_env.sh <venv> <repo>
# The course library is installed as a copy (not editable: students cannot read the repository),
# and nbgrader's extensions are set up for students as nbgrader documents for JupyterHub:
# Assignment List (fetch, submit, fetch feedback) and Validate on; Formgrader, Course List and
# Create Assignment off and locked. The grader account switches the formgrader back on for its
# own server only (~grader/.jupyter/jupyter_server_config.json, written by `setup`).
set -euo pipefail
venv="$1"; repo="$2"
export PATH="$venv/bin:$PATH"
quiet() {  # run a command; show its output only when it fails
  local out
  if ! out="$("$@" 2>&1)"; then echo "$out" >&2; echo "setup_env: failed: $*" >&2; return 1; fi
}
# built from a copy, so that the build leaves nothing behind in the repository's lib/
src="$(mktemp -d)"; trap 'rm -rf "$src"' EXIT
cp -r "$repo/lib" "$src/lib"; rm -rf "$src/lib/build" "$src/lib"/*.egg-info
quiet "$venv/bin/python" -m pip install --no-deps --force-reinstall "$src/lib"
quiet jupyter server extension disable --sys-prefix \
  nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list
quiet jupyter server extension enable --sys-prefix \
  nbgrader.server_extensions.assignment_list nbgrader.server_extensions.validate_assignment
instructor_plugins=(@jupyter/nbgrader:formgrader @jupyter/nbgrader:course-list @jupyter/nbgrader:create-assignment)
quiet jupyter labextension disable --level=sys_prefix "${instructor_plugins[@]}"
quiet jupyter labextension lock --level=sys_prefix "${instructor_plugins[@]}"
quiet jupyter labextension enable --level=sys_prefix \
  @jupyter/nbgrader:assignment-list @jupyter/nbgrader:validate-assignment @jupyter/nbgrader:menu
etc="$venv/etc/jupyter"
mkdir -p "$etc" "$venv/share/jupyter/lab/settings"
cat > "$etc/nbgrader_config.py" <<'PY'
# Written by autograder/hub/setup_env.sh: what Validate uses in a student server (the grader's
# per-cell budget and the library's kernel client, as binder/postBuild sets them; see
# backproplab/kernel_client.py). The class's course id and exchange come from
# <root>/etc/jupyter/nbgrader_config.py (JUPYTER_CONFIG_PATH).
c = get_config()  # noqa: F821
c.Execute.timeout = 120
c.AsyncKernelManager.client_class = "backproplab.kernel_client.ValidateKernelClient"
PY
cat > "$venv/share/jupyter/lab/settings/overrides.json" <<'JSON'
{
  "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}
}
JSON
chmod -R a+rX "$venv"
