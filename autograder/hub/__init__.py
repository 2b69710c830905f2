"""A class on JupyterHub: one course served to a whole class from one machine.

JupyterHub 5 (LocalProcessSpawner, each student server in its own cgroup), nbgrader's exchange
and formgrader, jupyterhub-idle-culler, and the course's own release build and grading pipeline
for the instructor's loop. See README.md in this folder; the commands are in :mod:`.cli`.
"""
