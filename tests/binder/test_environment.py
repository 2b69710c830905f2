"""The Binder environment, built from binder/ as repo2docker would, checked from the inside.

A fresh virtual environment on the pinned Python gets binder/requirements.txt, then
binder/postBuild runs in a copy of the repository as the image holds it (tests/binder/env.py).
In it: the library imports, nbgrader leaves students Validate and nothing of the instructor's,
the settings overrides are valid, and every release notebook runs to its first unanswered
exercise with no other error.
"""

from __future__ import annotations

import json
import re

import pytest
from backproplab.kernel_client import CLIENT_CLASS

from autograder.course import COURSE, make_config
from tests.binder.env import BinderEnv, dockerignore_patterns, is_ignored, pinned_python

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("binder")]

VALIDATE_SERVER = "nbgrader.server_extensions.validate_assignment"
INSTRUCTOR_SERVER = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list",
                     "nbgrader.server_extensions.assignment_list"]
VALIDATE_PLUGIN = "@jupyter/nbgrader:validate-assignment"
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                      "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:create-assignment"]
MENU_PLUGIN = "@jupyter/nbgrader:menu"  # only instructor entries: off as well
ANSI = re.compile(r"\x1b\[[0-9;]*m")

RELEASE_NOTEBOOKS = sorted(p.relative_to(COURSE).as_posix() for p in COURSE.glob("*/*.ipynb"))


def _plain(proc) -> str:
    return ANSI.sub("", proc.stdout + "\n" + proc.stderr)


def server_extension_status(env: BinderEnv) -> dict[str, tuple[str, str]]:
    """extension -> (enabled|disabled, config dir), as `jupyter server extension list` reports it.

    The list prints one section per config dir, highest precedence (user) first; the first
    section that names an extension decides.
    """
    status: dict[str, tuple[str, str]] = {}
    section = ""
    for line in _plain(env.run("jupyter", "server", "extension", "list")).splitlines():
        if line.startswith("Config dir:"):
            section = line.split(":", 1)[1].strip()
            continue
        m = re.match(r"^\s+([\w.]+)\s+(enabled|disabled)\s*$", line)
        if m and m.group(1) not in status:
            status[m.group(1)] = (m.group(2), section)
    return status


def disabled_lab_plugins(env: BinderEnv) -> set[str]:
    """The 'Disabled extensions' block of `jupyter labextension list`."""
    text = _plain(env.run("jupyter", "labextension", "list"))
    block = text.split("Disabled extensions:", 1)[1] if "Disabled extensions:" in text else ""
    out = set()
    for line in block.splitlines()[1:]:
        if not line.strip():
            break
        out.add(line.strip().split()[0])
    return out


def test_environment_uses_the_pinned_python(binder_env):
    version = binder_env.run("python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])").stdout.strip()
    assert version == pinned_python(), f"binder/runtime.txt pins {pinned_python()}, the environment runs {version}"


def test_requirements_are_installed_at_their_pins_and_consistent(binder_env):
    pins = {}
    for line in (binder_env.home / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"binder/requirements.txt: {line!r} is not pinned with =="
            pins[name.strip()] = version.strip()
    code = ("import json, sys, importlib.metadata as m; "
            "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))")
    got = json.loads(binder_env.run("python", "-c", code, *pins).stdout)
    assert got == pins
    check = binder_env.run("python", "-m", "pip", "check", check=False)
    assert check.returncode == 0, f"pip check in the Binder environment:\n{check.stdout}{check.stderr}"


def test_library_imports_from_the_image(binder_env):
    code = ("import backproplab, numpy, sympy, matplotlib, ipywidgets, nbgrader; "
            "import backproplab.grading, backproplab.gradcheck, backproplab.activations; "
            "print(backproplab.__file__)")
    where = binder_env.run("python", "-c", code, cwd=binder_env.root).stdout.strip()
    assert where.startswith(str(binder_env.home / "lib")), f"backproplab imported from {where}"


def test_image_holds_the_release_and_no_instructor_material(binder_env):
    home = binder_env.home
    assert (home / "course").is_dir() and (home / "lib" / "backproplab").is_dir() and (home / "binder").is_dir()
    for gone in ("solutions", "autograder", "tests", ".ci"):
        assert not (home / gone).exists(), f"{gone}/ reached the student image: list it in binder/.dockerignore"
    assert is_ignored(".git/config", dockerignore_patterns()), "the image would carry .git (every solution in its history)"


def test_validate_server_extension_on_and_instructor_ones_off(binder_env):
    status = server_extension_status(binder_env)
    own = str(binder_env.prefix / "etc" / "jupyter")
    assert status.get(VALIDATE_SERVER, ("missing",))[0] == "enabled", status
    for ext in INSTRUCTOR_SERVER:
        assert ext in status, f"{ext} not listed at all: {sorted(status)}"
        assert status[ext][0] == "disabled", f"{ext} is {status[ext][0]} (config dir {status[ext][1]})"
    for ext in INSTRUCTOR_SERVER + [VALIDATE_SERVER]:
        assert status[ext][1] == own, f"{ext} is set in {status[ext][1]}, not in the environment ({own}): use --sys-prefix"


def test_validate_lab_plugin_on_and_instructor_ones_off_and_locked(binder_env):
    disabled = disabled_lab_plugins(binder_env)
    assert set(INSTRUCTOR_PLUGINS + [MENU_PLUGIN]) <= disabled, f"still enabled: {set(INSTRUCTOR_PLUGINS) - disabled}"
    assert VALIDATE_PLUGIN not in disabled
    page_config = json.loads((binder_env.prefix / "etc" / "jupyter" / "labconfig" / "page_config.json").read_text())
    for plugin in INSTRUCTOR_PLUGINS + [MENU_PLUGIN]:
        assert page_config["disabledExtensions"].get(plugin) is True, plugin
        # locked: the Plugin Manager in Settings cannot switch it back on
        assert page_config.get("lockedExtensions", {}).get(plugin) is True, f"{plugin} is not locked"
    assert not page_config["disabledExtensions"].get(VALIDATE_PLUGIN)
    # and nothing at the user level can undo it on a fresh Binder home
    assert not (binder_env.home / ".jupyter" / "labconfig").exists()


def test_settings_overrides_name_real_settings(binder_env):
    """Every key of overrides.json exists in its plugin's schema, with an allowed value."""
    lab = binder_env.prefix / "share" / "jupyter" / "lab"
    overrides = json.loads((lab / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    for plugin_id, settings in overrides.items():
        package, _, plugin = plugin_id.partition(":")
        schema_path = lab / "schemas" / package / f"{plugin}.json"
        assert schema_path.exists(), f"overrides.json names {plugin_id}, which has no schema (typo?)"
        props = json.loads(schema_path.read_text()).get("properties", {})
        for key, value in settings.items():
            assert key in props, f"{plugin_id} has no setting {key!r}"
            prop = props[key]
            if "oneOf" in prop:
                assert value in [o.get("const") for o in prop["oneOf"]], f"{plugin_id}:{key} = {value!r}"
            elif prop.get("type") == "boolean":
                assert isinstance(value, bool), f"{plugin_id}:{key} must be a boolean, not {value!r}"


def test_validate_uses_the_graders_cell_timeout(binder_env):
    """The Validate handler's nbgrader config gives a cell as long as the grader does."""
    code = ("from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler as H; "
            "print(H.load_config(None).Execute.timeout)")
    got = binder_env.run("python", "-c", code).stdout.strip().splitlines()[-1]
    assert int(got) == make_config().Execute.timeout


def test_validate_uses_the_rearming_kernel_client(binder_env):
    """The Validate handler's config gives nbgrader's kernels the library's client (binder/postBuild),
    the grader's config (autograder/course.py) the same one, and its shell channel is the one that
    re-arms (tests/lib/test_kernel_client.py replays the race it fixes)."""
    code = ("from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler as H\n"
            "from nbgrader.preprocessors import Execute\n"
            "c = H.load_config(None)\n"
            "km = Execute(config=c).kernel_manager_class(config=c)\n"
            "kc = km.client_factory()\n"
            "print(c.AsyncKernelManager.client_class, type(kc).__module__, kc.shell_channel_class.__name__)")
    name, module, channel = binder_env.run("python", "-c", code).stdout.strip().splitlines()[-1].split()
    assert name == CLIENT_CLASS == make_config().AsyncKernelManager.client_class
    assert module == CLIENT_CLASS.rsplit(".", 1)[0] and channel == "ShellChannel"


@pytest.mark.parametrize("notebook", RELEASE_NOTEBOOKS)
def test_release_notebook_runs_to_its_first_unanswered_exercise(binder_env, notebook):
    path = binder_env.home / "course" / notebook
    assert path.exists(), f"{notebook} is in course/ but not in the image"
    res = binder_env.run_notebook(path)
    print(f"{notebook}: kernel start {res['kernel_start_seconds']:.1f} s, cells {res['seconds']:.1f} s, "
          f"slowest cell {res['slowest_cell']}")
    assert res["kernel"]["prefix"] == str(binder_env.prefix), "the kernel is not the Binder environment's"
    if not res["errors"]:
        assert res["executed"] == res["code_cells"]
        return
    err = res["errors"][0]
    unanswered = err["ename"] == "NotImplementedError" or "not implemented" in err["evalue"].lower()
    assert err["graded"] and unanswered, (
        f"{notebook}: cell {err['index']} ({err['grade_id'] or 'not an exercise test'}) fails with "
        f"{err['ename']}: {err['evalue']}\n{err['source']}")
    assert res["executed"] >= 2, "the first test cell fails before anything else ran"
