"""The pytest plugin, used the way a user's own project uses it: pytest run in a subprocess on a
project directory that holds only test files (no conftest, no configuration, strict asyncio)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

USER_TESTS = '''
import pytest
from smsbridge import Dispatcher, Message
from smsbridge.errors import SmsBridgeError

@pytest.mark.asyncio
async def test_sandbox_accepts_a_textus_and_a_trackdrive_send(smsbridge_sandbox):
    await smsbridge_sandbox.textus.send(Message(to="+13035551234", body="Hi"))
    await smsbridge_sandbox.trackdrive.send(Message(to="+13035551235", body="Hi"))
    assert smsbridge_sandbox.accepted_numbers("textus") == ["+13035551234"]
    assert smsbridge_sandbox.accepted_numbers("trackdrive") == ["+13035551235"]
    assert any(r.route == "textus.send" for r in smsbridge_sandbox.records)

@pytest.mark.asyncio
@pytest.mark.smsbridge_sandbox(faults=["textus.send:error_5xx_before"])
async def test_marker_turns_a_sandbox_fault_on(smsbridge_sandbox):
    with pytest.raises(SmsBridgeError):
        await smsbridge_sandbox.textus.send(Message(to="+13035551234", body="Hi"))
    assert smsbridge_sandbox.accepted_numbers("textus") == []

@pytest.mark.asyncio
async def test_faults_switch_at_run_time(smsbridge_sandbox):
    smsbridge_sandbox.faults.add("trackdrive.text_messages", "error_5xx_before")
    with pytest.raises(SmsBridgeError):
        await smsbridge_sandbox.trackdrive.send(Message(to="+13035551234", body="Hi"))
    smsbridge_sandbox.faults.clear()
    await smsbridge_sandbox.trackdrive.send(Message(to="+13035551234", body="Hi"))
    assert smsbridge_sandbox.accepted_numbers("trackdrive") == ["+13035551234"]

@pytest.mark.asyncio
async def test_fake_provider_records_a_bulk_send(fake_provider):
    numbers = ["+13035551234", "+13035551235"]
    report = await Dispatcher(fake_provider).send(Message(to=numbers, body="Hi"))
    assert report.sent == 2
    assert fake_provider.accepted_count("+13035551234") == 1

@pytest.mark.fake_provider(script=["reject"])
def test_fake_provider_marker_scripts_faults(fake_provider):
    assert fake_provider.accepted_count() == 0
    assert fake_provider.name == "fake"
'''


def test_user_project_gets_the_sandbox_and_fake_provider_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_texts.py").write_text(textwrap.dedent(USER_TESTS))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "test_texts.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_a_fresh_project_with_only_smsbridge_pytest_and_pytest_asyncio_gets_the_fixtures(
        tmp_path: Path) -> None:
    # a new virtual environment: nothing of this checkout's dev set-up, as a user's project has
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT), "pytest", "pytest-asyncio"],
        capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_texts.py").write_text(textwrap.dedent(USER_TESTS))
    result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=project, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "5 passed" in result.stdout


def test_marker_with_positional_arguments_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_bad.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.fake_provider("reject")
        def test_bad(fake_provider):
            pass
    '''))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bad.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "takes keyword arguments only" in result.stdout + result.stderr
