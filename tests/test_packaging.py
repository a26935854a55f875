"""The package as PyPI would get it: an sdist and a wheel that build, pass ``twine check``, carry
the license, the typing marker and the pytest plugin, and an sdist whose own tests run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import smsbridge

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=240)
    return out


def _one(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def test_sdist_and_wheel_pass_twine_check(dist: Path) -> None:
    result = subprocess.run([str(BIN / "twine"), "check", "--strict", *map(str, dist.iterdir())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_wheel_metadata_has_the_version_license_and_urls(dist: Path) -> None:
    wheel = _one(dist, "*.whl")
    assert wheel.name == f"smsbridge-{smsbridge.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = f"smsbridge-{smsbridge.__version__}.dist-info"
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Version"] == smsbridge.__version__
    assert any(url.startswith("Changelog, ") for url in metadata.get_all("Project-URL") or [])
    assert "Typing :: Typed" in (metadata.get_all("Classifier") or [])
    assert f"{info}/licenses/LICENSE" in names
    assert "smsbridge/py.typed" in names
    assert "[pytest11]" in entry_points and "smsbridge.pytest_plugin" in entry_points
    assert not any(name.startswith("tests/") for name in names)


def test_sdist_tests_run_against_the_sdist_code(dist: Path, tmp_path: Path) -> None:
    sdist = _one(dist, "*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    assert (tree / "LICENSE").is_file() and (tree / "tests" / "conftest.py").is_file()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    where = subprocess.run([sys.executable, "-c", "import smsbridge; print(smsbridge.__file__)"],
                           cwd=tree, env=env, capture_output=True, text=True, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(tree)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:randomly", "tests/test_phone.py",
         "tests/test_models.py"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed is not None and int(passed.group(1)) >= 20, result.stdout
