"""The SQLite journal satisfies the engine's store protocols, and a run uses nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

from smsbridge.journal.protocol import EventLedger, JobStore, SuppressionList
from smsbridge.journal.store import Journal
from smsbridge.webhooks.tracking import JournalLike

ENGINE = Path(__file__).resolve().parents[2] / "smsbridge" / "dispatch"


def test_the_sqlite_journal_is_a_job_store_a_suppression_list_and_an_event_ledger(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        assert isinstance(journal, JobStore)
        assert isinstance(journal, SuppressionList)
        assert isinstance(journal, EventLedger)
        sink: JournalLike = journal  # the webhook side takes the same interfaces
        assert sink is journal


def test_the_engine_calls_no_private_journal_method() -> None:
    # Any ``journal._x`` / ``session._x`` / ``store._x`` attribute access in the engine would
    # bind it to the SQLite journal's internals, which a network store does not have.
    offenders = []
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name)
                    and node.value.id in {"journal", "session", "store"}):
                offenders.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []
