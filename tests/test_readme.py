"""The README's Python snippets type-check under ``mypy --strict`` as written.

Each ```python block is checked as its own module. A block with top-level ``await``/``async
with`` runs inside an ``async def``, as it would in the user's coroutine; the names the README's
prose introduces instead of defining (a ``provider``, a ``message``...) are declared in
``CONTEXT`` with their types, and every public name of ``smsbridge`` is importable as the
snippets assume.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

CONTEXT = '''\
from datetime import datetime
import asyncio
import smsbridge
from smsbridge import *  # noqa: F403
from smsbridge.errors import *  # noqa: F403
from smsbridge.models import InboundMessage
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.providers.textus import TextUsProvider

provider: smsbridge.MessagingProvider
textus: TextUsProvider
message: smsbridge.Message
msg: smsbridge.Message
recipients: list[smsbridge.Recipient]
when: datetime
PUBLIC_URL: str
async def handle_reply(inbound: InboundMessage) -> None: ...
'''

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_TOP_LEVEL_AWAIT = re.compile(r"^(await |async (with|for) |\w[\w, ]* = await )", re.M)


def snippets() -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text[:m.start()].count("\n") + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def as_module(code: str) -> str:
    if not _TOP_LEVEL_AWAIT.search(code):
        return CONTEXT + "\n" + code
    imports = [line for line in code.splitlines() if line.startswith(("import ", "from "))]
    body = [line for line in code.splitlines() if line not in imports]
    return (CONTEXT + "\n".join(imports) + "\n\nasync def _snippet() -> None:\n"
            + textwrap.indent("\n".join(body), "    ") + "\n")


def test_readme_has_python_snippets() -> None:
    assert len(snippets()) >= 8


def test_every_readme_snippet_passes_mypy_strict(tmp_path: Path) -> None:
    files = []
    for line, code in snippets():
        path = tmp_path / f"readme_line_{line}.py"
        path.write_text(as_module(code))
        files.append(path)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         "--disable-error-code=import-untyped", *map(str, files)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)})
    if result.returncode != 0:
        pytest.fail("README snippets fail mypy --strict (file name = README line):\n"
                    + result.stdout)
