"""How the command line is started: ``python -m smsbridge`` and without the ``cli`` extra."""

from __future__ import annotations

import subprocess
import sys


def test_python_m_smsbridge_runs_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "smsbridge", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage: smsbridge" in result.stdout
    assert "bulk" in result.stdout


def test_without_the_cli_extra_the_command_says_how_to_install_it() -> None:
    # click absent, as after `pip install smsbridge` without [cli]
    code = ("import sys; sys.modules['click'] = None\n"
            "from smsbridge.cli import main\n"
            "main(['--help'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "pip install 'smsbridge[cli]'" in result.stderr
    assert "Traceback" not in result.stderr
