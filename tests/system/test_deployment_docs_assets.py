"""The image ships the docs page's web component, and every deployment points the worker at it.

No Docker engine runs the tests, so the files are read: the Dockerfile must install the
npm lock file and copy the two files :data:`commerce.contract.docs_page.ASSETS` names into
one directory, and the Dockerfile, docker-compose.yml and the Kubernetes ConfigMap must
all set ``COMMERCE_HTTP__DOCS_ASSETS_DIR`` to that directory.
"""

import re
import shlex
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from commerce.contract.docs_page import ASSETS
from tests.support.paths import REPOSITORY

pytestmark = pytest.mark.unit

DOCKERFILE = REPOSITORY / "deployments/docker/Dockerfile"
SETTING = "COMMERCE_HTTP__DOCS_ASSETS_DIR"


def _instructions() -> list[tuple[str, list[str]]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in logical.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), shlex.split(rest)))
    return found


def _image_assets_dir() -> str:
    values = [
        word.split("=", 1)[1]
        for keyword, words in _instructions()
        if keyword == "ENV"
        for word in words
        if word.startswith(f"{SETTING}=")
    ]
    assert len(values) == 1, f"the Dockerfile sets {SETTING} once"
    return values[0]


def test_the_image_installs_the_npm_lock_and_copies_both_assets_into_the_set_directory() -> None:
    instructions = _instructions()
    runs = [" ".join(words) for keyword, words in instructions if keyword == "RUN"]
    assert any("npm ci --prefix scripts/node" in run for run in runs)
    copies = [
        [word for word in words if not word.startswith("--")]
        for keyword, words in instructions
        if keyword == "COPY" and "--from=docs-assets" in words
    ]
    assert len(copies) == 1, "one COPY brings the assets from the npm stage"
    *sources, target = copies[0]
    directory = _image_assets_dir()
    assert PurePosixPath(target) == PurePosixPath(directory)
    assert target.endswith("/"), "several sources go into a directory"
    inside_node_modules = {
        source.split("/node_modules/", 1)[1]: PurePosixPath(source).name for source in sources
    }
    expected = {path: name for name, (path, _) in ASSETS.items()}
    assert inside_node_modules == expected, "exactly the files the docs page serves"


def test_compose_and_kubernetes_set_the_image_directory() -> None:
    directory = _image_assets_dir()
    compose: dict[str, Any] = yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text())
    for name in ("worker", "relay", "migrate"):
        assert compose["services"][name]["environment"][SETTING] == directory, name
    configmap: dict[str, Any] = yaml.safe_load(
        (REPOSITORY / "deployments/k8s/configmap.yaml").read_text()
    )
    assert configmap["data"][SETTING] == directory


def test_the_build_context_lets_the_npm_manifest_in() -> None:
    """``.dockerignore`` is an allow-list: without these lines ``npm ci`` has no lock file."""
    allowed = (REPOSITORY / ".dockerignore").read_text().splitlines()
    assert "!scripts/node/package.json" in allowed
    assert "!scripts/node/package-lock.json" in allowed
