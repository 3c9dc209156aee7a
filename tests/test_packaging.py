"""The wheel carries every file of the package, and the sdist what the suite needs.

Built here with setuptools' own build hooks, without network and without touching the checkout
(a copy is built), so that a data file added without a packaging rule fails the suite, not a
user's first run. `make check-install` goes further: it installs the wheel and runs the README.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

BUILD_FILES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "CHANGELOG.md", "Makefile")
SDIST_FOLDERS = ("tests", "fixtures", "scripts", "bench", ".ci")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", ".work")


def files_under(folder: Path) -> list[str]:
    """Every file below folder, relative to the checkout, leaving out caches."""
    return sorted(
        path.relative_to(REPO).as_posix()
        for path in folder.rglob("*")
        if path.is_file()
        and not {"__pycache__", ".pytest_cache", ".hypothesis", ".work"} & set(path.parts)
        and path.suffix != ".pyc"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_FILES:
        shutil.copy2(REPO / name, source / name)
    for folder in ("mailaudit", *SDIST_FOLDERS):
        shutil.copytree(REPO / folder, source / folder, ignore=JUNK, symlinks=True)
    dist = source / "dist"
    hooks = (
        "import sys, setuptools.build_meta as hooks; "
        "out = sys.argv[1]; hooks.build_sdist(out); hooks.build_wheel(out)"  # they change argv
    )
    result = subprocess.run(
        [sys.executable, "-c", hooks, str(dist)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dist


def test_every_file_of_the_package_is_in_the_wheel(built):
    wheel = next(built.glob("mailaudit-*.whl"))
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = files_under(REPO / "mailaudit")
    data = [name for name in package if not name.endswith(".py")]
    assert "mailaudit/providers/ispdb.json" in data  # the test sees the data files
    assert [name for name in package if name not in shipped] == []
    assert not [name for name in shipped if "__pycache__" in name or name.endswith(".pyc")]
    licence = [name for name in shipped if name.endswith(".dist-info/licenses/LICENSE")]
    assert licence, sorted(shipped)


def test_the_wheel_declares_the_licence_and_every_dependency(built):
    wheel = next(built.glob("mailaudit-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
    assert "License-Expression: MIT" in metadata
    assert "Project-URL: Issues, " in metadata
    required = {
        line.split(":", 1)[1].strip().split(">=")[0].split(";")[0].strip().lower()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    # Every third-party package mailaudit imports is declared, not left to a dependency's
    # dependency (construct is imported directly, beside regipy).
    for imported in ("typer", "tabulate", "dnspython", "regipy", "construct", "cryptography"):
        assert imported in required, (imported, required)


def test_the_sdist_carries_what_the_suite_needs(built):
    sdist = next(built.glob("mailaudit-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        shipped = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = [name for folder in SDIST_FOLDERS for name in files_under(REPO / folder)]
    needed += [*files_under(REPO / "mailaudit"), "LICENSE", "Makefile", "CHANGELOG.md"]
    assert "fixtures/machines/sample/etc/hostname" in needed
    assert [name for name in needed if name not in shipped] == []
