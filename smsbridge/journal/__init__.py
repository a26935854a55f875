"""The SQLite journal: resumable jobs, delivery updates, the suppression list, webhook de-dup.

``store`` is the :class:`Journal` itself; ``session`` one run's write session (claims and
outcomes, group-committed by ``writer``); ``schema``, ``runs`` (one live run per job),
``reconcile`` and ``report`` are its parts. ``protocol`` is what the dispatcher and the webhook
side need from any store: the SQLite journal implements it, and so can a network store.
"""

from .store import JobInfo, Journal, JournalEntry, JournalReport

__all__ = ["JobInfo", "Journal", "JournalEntry", "JournalReport"]
