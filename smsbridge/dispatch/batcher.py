"""Batch mode: recipients grouped by identical rendered body."""

from __future__ import annotations

from .preparer import Item


class Batch:
    __slots__ = ("body", "items")

    def __init__(self, body: str, items: list[Item]) -> None:
        self.body = body
        self.items = items


class Batcher:
    """Groups recipients whose rendered bodies are identical; bounded by ``limit`` buffered.

    Sender, attachments and options are the job's, the same for every recipient, so an
    identical rendered body means an identical message: one native multi-recipient send to
    plain numbers. A group of one is sent on its own (see ``JobRun._dispatch_batch``).
    """

    def __init__(self, size: int, limit: int) -> None:
        self._size = size
        self._limit = limit
        self._groups: dict[str, list[Item]] = {}
        self._buffered = 0

    def add(self, item: Item) -> list[Batch]:
        body = item.body or ""
        group = self._groups.setdefault(body, [])
        group.append(item)
        self._buffered += 1
        ready = [self._pop(body)] if len(group) >= self._size else []
        while self._buffered > self._limit:  # personalised bodies: flush the oldest group
            ready.append(self._pop(next(iter(self._groups))))
        return ready

    def drain(self) -> list[Batch]:
        return [self._pop(body) for body in list(self._groups)]

    def _pop(self, body: str) -> Batch:
        items = self._groups.pop(body)
        self._buffered -= len(items)
        return Batch(body, items)
