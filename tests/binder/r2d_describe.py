"""Describe repo2docker's build of a repository without Docker (run in a venv holding repo2docker).

    python r2d_describe.py REPO

Prints one JSON line: the buildpack repo2docker picks, its Python version, the rendered
Dockerfile, and the files it would send as the build context (``src/...``), computed by
repo2docker's own ``BuildPack.build`` handed a stand-in for the Docker client.
"""

import json
import os
import sys
import tarfile

import repo2docker
from repo2docker.app import Repo2Docker


class ContextRecorder:
    """Stands in for docker's client: keeps the names in the build-context tarball."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def build(self, fileobj, **kwargs):
        with tarfile.open(fileobj=fileobj) as tar:
            self.names = [m.name for m in tar.getmembers() if m.isfile()]
        return iter(())


def main() -> int:
    os.chdir(sys.argv[1])
    app = Repo2Docker()
    for BP in app.buildpacks:
        bp = BP(base_image=app.base_image)
        if bp.detect():
            break
    else:
        bp = app.default_buildpack(base_image=app.base_image)
    bp.platform = app.platform   # as Repo2Docker.build does
    build_args = {"NB_USER": "jovyan", "NB_UID": "1000"}
    client = ContextRecorder()
    list(bp.build(client, "describe", 0, build_args, [], {}))
    print(json.dumps({
        "repo2docker": repo2docker.__version__,
        "buildpack": type(bp).__name__,
        "python_version": getattr(bp, "python_version", None),
        "dockerfile": bp.render(build_args),
        "build_script_files": sorted(os.path.basename(k) for k in bp.get_build_script_files()),
        "context": sorted(n[len("src/"):] for n in client.names if n.startswith("src/")),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
