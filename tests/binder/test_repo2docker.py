"""What repo2docker itself makes of binder/, without Docker.

repo2docker is installed in a throwaway virtual environment; its command line renders the
Dockerfile (``--no-build --debug``) and its own ``BuildPack.build`` lists the build context
(tests/binder/r2d_describe.py). Checked: it picks the pinned Python, installs
binder/requirements.txt, runs binder/postBuild after copying the repository, and leaves out
of the image exactly what tests/binder/env.py leaves out (so the environment those tests
build is the image's). A root .dockerignore is planted to show it is not read: repo2docker
reads binder/.dockerignore when a binder/ folder exists.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.binder.env import REPO, find_pinned_interpreter, image_files, pinned_python, repo_files

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("binder")]

# The version mybinder.org ran when this was written; bump it to see what a newer one does.
REPO2DOCKER = "jupyter-repo2docker==2026.4.0"
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def r2d(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("repo2docker")
    venv = root / "venv"
    subprocess.run([find_pinned_interpreter(), "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", REPO2DOCKER],
                   check=True, capture_output=True, timeout=600)
    repo = root / "repo"
    for rel in repo_files():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, repo / rel)
    # a clone has its history; and a root .dockerignore that repo2docker should not read
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".dockerignore").write_text("course/\n")
    cli = subprocess.run([str(venv / "bin" / "repo2docker"), "--no-build", "--debug", "--no-run", str(repo)],
                         check=False, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr[-3000:]
    api = subprocess.run([str(venv / "bin" / "python"), str(HERE / "r2d_describe.py"), str(repo)],
                         check=False, capture_output=True, text=True, timeout=300)
    assert api.returncode == 0, api.stderr[-3000:]
    out = json.loads(api.stdout.strip().splitlines()[-1])
    out["cli"] = cli.stdout + cli.stderr
    return out


def test_repo2docker_picks_the_pinned_python(r2d):
    assert r2d["buildpack"] == "PythonBuildPack"
    assert r2d["python_version"] == pinned_python()
    assert f"Building conda environment for python={pinned_python()}" in r2d["cli"]
    locks = [f for f in r2d["build_script_files"] if f.startswith("environment.py-")]
    assert locks and all(f.startswith(f"environment.py-{pinned_python()}-") for f in locks), locks


def test_repo2docker_installs_requirements_then_copies_the_repo_then_runs_postbuild(r2d):
    dockerfile = r2d["cli"]
    steps = [dockerfile.find('pip install --no-cache-dir -r "binder/requirements.txt"'),
             dockerfile.find("COPY --chown=0:0 src/ ${REPO_DIR}/"),
             dockerfile.find("RUN ./binder/postBuild")]
    assert all(s >= 0 for s in steps), f"missing a step (requirements, copy, postBuild): {steps}"
    assert steps == sorted(steps), "postBuild must run after the requirements and the copy"
    assert "RUN ./binder/postBuild" in r2d["dockerfile"], "the API's Dockerfile differs from the CLI's"


def test_repo2docker_context_is_the_environment_these_tests_build(r2d):
    context = set(r2d["context"])
    assert not [f for f in context if f.split("/")[0] in {"solutions", "autograder", "tests", ".ci", ".git"}]
    assert any(f.startswith("course/") for f in context), "a root .dockerignore was read (course/ is missing)"
    ours = set(image_files()) | {".dockerignore"}   # the planted root file itself is context
    assert context == ours, (f"repo2docker's image differs from tests/binder/env.py's: only repo2docker "
                             f"{sorted(context - ours)[:10]}, only ours {sorted(ours - context)[:10]}")

