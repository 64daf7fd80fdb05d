"""The house rules hold, and a forbidden import is caught (import-linter's contracts)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPOSITORY = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the ``commerce`` package found under ``tree/src``."""
    environment = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _copy_of_the_service(tmp_path: Path) -> Path:
    tree = tmp_path / "repository"
    shutil.copytree(REPOSITORY / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPOSITORY / "pyproject.toml", tree / "pyproject.toml")
    return tree


def _broken_contracts(report: str) -> list[str]:
    """The names of the contracts import-linter's summary calls broken (it wraps long
    names over two lines, so the summary is read as one run of words)."""
    section = report.split("dependencies.", 1)[1].split("Contracts:", 1)[0]
    summary = " ".join(section.split()).lstrip("- ")
    verdicts = re.findall(r"(.+?) (KEPT|BROKEN)(?: \(\d+ ignored imports?\))?", summary)
    return [name.strip() for name, verdict in verdicts if verdict == "BROKEN"]


def _plant(tree: Path, module: str, line: str) -> None:
    path = tree / "src" / (module.replace(".", "/") + ".py")
    path.write_text(f'"""A planted import."""\n\n{line}\n')


def test_the_committed_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_imports(_copy_of_the_service(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "commerce.catalog.adapters.planted",
            "from commerce.orders.domain.order import Order  # noqa: F401",
            "catalog talks to the other contexts only through their published messages",
        ),
        (
            "commerce.billing.application.planted",
            "from commerce.orders.application.use_cases import place_order  # noqa: F401",
            "billing talks to the other contexts only through their published messages",
        ),
        (
            "commerce.platform.outbox.planted",
            "from commerce.identity.domain.user import User  # noqa: F401",
            "The platform imports no bounded context, registry, composition root or settings",
        ),
        (
            "commerce.orders.domain.planted",
            "import sqlalchemy  # noqa: F401",
            "A context's domain imports the standard library and the platform kit only",
        ),
        (
            "commerce.identity.domain.planted",
            "from commerce.identity.adapters.passwords import Argon2PasswordHasher  # noqa: F401",
            "Inside each context: subscribers -> adapters -> application -> messages -> domain",
        ),
    ],
    ids=[
        "context-to-other-domain",
        "context-to-other-application",
        "platform-to-context",
        "domain-to-driver",
        "domain-to-own-adapters",
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = _copy_of_the_service(tmp_path)
    _plant(tree, module, line)
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert contract in _broken_contracts(result.stdout), result.stdout
    assert module in result.stdout
