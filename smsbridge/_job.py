"""The engine of one job run: one producer, a bounded pool of workers, the outcome rule.

The producer reads the source (any iterable or async iterable), prepares each recipient and
queues it (or a batch) on a queue holding a few items per worker; the workers claim, throttle
and send. Memory is O(concurrency) whatever the source's size; only the de-dup set grows.

Cancellation: the producer stops at once, idle workers stop at once, and workers with a request
in flight get ``grace`` seconds to finish; any still running then becomes UNKNOWN. Recipients a
worker had claimed but not sent are handed back to ``pending`` in the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Iterable, Sequence
from typing import Any, Protocol

from . import _constants as C
from ._channel import Channel
from ._journal_job import ClaimEntry, JobSession, Prior
from ._logging import logger
from ._outcomes import failure_outcomes, success_outcomes, unknown_outcomes
from ._render import Batch, Batcher, Item, JobSpec, Preparer
from ._report import Tally
from ._retry import RetryPolicy, SendState, classify, server_delay
from ._throttle import Throttle
from .errors import JournalError, RateLimitError, SmsBridgeError
from .models import Message, Outcome, OutcomeStatus
from .protocol import MessagingProvider

_END: Any = object()


class Sink(Protocol):
    """Where outcomes go: a list for ``send()``, a bounded queue for ``stream()``."""

    async def put(self, index: int, outcome: Outcome) -> None: ...

    def put_nowait(self, index: int, outcome: Outcome) -> None: ...


class JobRun:
    """One run of a job. ``await run(source)``; outcomes go to ``sink`` as they are final."""

    def __init__(
        self,
        *,
        provider: MessagingProvider,
        spec: JobSpec,
        preparer: Preparer,
        throttle: Throttle,
        retry: RetryPolicy,
        concurrency: int,
        batch_size: int | None,
        dry_run: bool,
        session: JobSession | None,
        lookup: Any,
        resend_unknown: bool,
        tally: Tally,
        sink: Sink,
        job_id: str,
        grace: float,
        store_source: bool,
    ) -> None:
        self._provider = provider
        self._provider_name = provider.name
        self._spec = spec
        self._preparer = preparer
        self._throttle = throttle
        self._retry = retry
        self._concurrency = concurrency
        self._dry_run = dry_run
        self._session = session
        self._lookup_fn = lookup  # async (keys) -> {key: Prior}, set when the job has rows
        self._resend_unknown = resend_unknown
        self._tally = tally
        self._sink = sink
        self.job_id = job_id
        self._grace = grace
        self._store_source = store_source and session is not None
        self._batcher = (
            Batcher(batch_size, batch_size * C.DISPATCHER_BATCH_BUFFER) if batch_size else None
        )
        self._queue: Channel[Any] = Channel(max(concurrency * C.DISPATCHER_QUEUE_PER_WORKER, 2))
        self._busy = [False] * concurrency
        self._pending_lookup: list[Item] = []
        self._source_chunk: list[Any] = []
        self._chunks = 0
        self._batch_seq = 0
        self.read = 0
        self.source_complete = False
        self.stopping = False
        self.batches: dict[str, tuple[str, ...]] = {}

    # --- orchestration --------------------------------------------------------------------

    async def run(self, source: Iterable[Any] | AsyncIterable[Any]) -> None:
        producer = asyncio.create_task(self._produce(source), name="smsbridge-producer")
        workers = [] if self._dry_run else [
            asyncio.create_task(self._work(w), name=f"smsbridge-worker-{w}")
            for w in range(self._concurrency)
        ]
        try:
            pending: set[asyncio.Task[None]] = {producer, *workers}
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        except BaseException:
            await self._stop(producer, workers)
            raise
        finally:
            self._tally.finish()

    async def _stop(self, producer: asyncio.Task[None], workers: list[asyncio.Task[None]]) -> None:
        self.stopping = True
        producer.cancel()
        busy = []
        for w, task in enumerate(workers):
            if self._busy[w] and not task.done():
                busy.append(task)
            else:
                task.cancel()
        try:
            if busy:
                await asyncio.wait(busy, timeout=self._grace)
            for task in workers:
                task.cancel()
            await asyncio.wait([producer, *workers])
        except asyncio.CancelledError:
            pass  # cancelled again while stopping: the tasks are cancelled; stop waiting
        for task in (producer, *workers):
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: the first error is the one re-raised

    async def _emit(self, index: int, outcome: Outcome) -> None:
        self._tally.add(outcome)
        if self.stopping:
            self._sink.put_nowait(index, outcome)
        else:
            await self._sink.put(index, outcome)

    # --- the producer ---------------------------------------------------------------------

    async def _produce(self, source: Iterable[Any] | AsyncIterable[Any]) -> None:
        try:
            if isinstance(source, AsyncIterable):
                async for raw in source:
                    await self._take(raw)
            else:
                for raw in source:
                    await self._take(raw)
        except asyncio.CancelledError:
            self._flush_source()  # what was read stays resumable from the journal alone
            raise
        await self._resolve_lookup()
        if self._batcher is not None:
            for batch in self._batcher.drain():
                await self._dispatch_batch(batch)
        self._flush_source()
        self.source_complete = True
        for _ in range(0 if self._dry_run else self._concurrency):
            await self._queue.put(_END)

    async def _take(self, raw: Any) -> None:
        index = self.read
        self.read += 1
        if self._store_source:
            self._source_chunk.append(_source_entry(raw))
            if len(self._source_chunk) >= C.JOURNAL_SOURCE_CHUNK:
                self._flush_source()
        item = self._preparer.prepare(index, raw)
        if self._lookup_fn is not None and not item.positional:
            self._pending_lookup.append(item)
            if len(self._pending_lookup) >= C.DISPATCHER_LOOKUP_CHUNK:
                await self._resolve_lookup()
        else:
            await self._route(item)

    def _flush_source(self) -> None:
        if self._session is None or not self._source_chunk:
            return
        self._session.store_source(self._chunks, self._source_chunk, self.read)
        self._chunks += 1
        self._source_chunk = []

    async def _resolve_lookup(self) -> None:
        items, self._pending_lookup = self._pending_lookup, []
        if not items:
            return
        priors: dict[str, Prior] = await self._lookup_fn([item.key for item in items])
        for item in items:
            prior = priors.get(item.key)
            if prior is None or self._claimable(prior):
                await self._route(item)
            else:
                await self._emit(item.index, self._from_prior(item, prior))

    def _claimable(self, prior: Prior) -> bool:
        return prior.state == "pending" or (
            self._resend_unknown and prior.state in ("in_flight", "unknown"))

    def _from_prior(self, item: Item, prior: Prior) -> Outcome:
        """What an earlier run left: reported, never resent (unless resend_unknown)."""
        recipient = item.recipient
        if prior.state in ("in_flight", "unknown"):
            error = prior.error or (
                "an earlier run stopped while this message was in flight; it may have been "
                "sent, so it is not resent (pass resend_unknown=True to resend)")
            if prior.state == "in_flight" and self._session is not None:
                self._session.resolve_interrupted(item.key, error)
            return Outcome(recipient, OutcomeStatus.UNKNOWN, error=error,
                           reason=prior.reason or "interrupted", provider=prior.provider,
                           batch_id=prior.batch_id)
        detail = f" (message id {prior.message_id})" if prior.message_id else ""
        return Outcome(
            recipient, OutcomeStatus.SKIPPED, reason=f"already_{prior.state}",
            error=f"already {prior.state} in an earlier run of job {self.job_id}{detail}",
            provider=prior.provider, batch_id=prior.batch_id)

    async def _route(self, item: Item) -> None:
        if item.verdict is not None:
            if self._session is not None:
                self._session.final(item.key, item.index, item.verdict, 0,
                                    item.recipient.variables)
            await self._emit(item.index, item.verdict)
        elif self._batcher is not None:
            for batch in self._batcher.add(item):
                await self._dispatch_batch(batch)
        elif self._dry_run:
            await self._emit(item.index, self._dry_outcome(item, None, [item]))
        else:
            await self._queue.put(item)

    async def _dispatch_batch(self, batch: Batch) -> None:
        if len(batch.items) == 1:
            # Nobody shares this body: one plain send, which also gives a message id.
            item = batch.items[0]
            if self._dry_run:
                await self._emit(item.index, self._dry_outcome(item, None, [item]))
            else:
                await self._queue.put(item)
            return
        if not self._dry_run:
            await self._queue.put(batch)
            return
        self._batch_seq += 1
        batch_id = f"dry-run-{self._batch_seq}"
        self.batches[batch_id] = tuple(item.recipient.phone for item in batch.items)
        for item in batch.items:
            await self._emit(item.index, self._dry_outcome(item, batch_id, batch.items))

    def _dry_outcome(self, item: Item, batch_id: str | None, items: Sequence[Item]) -> Outcome:
        message = self._message(items, item.body or "", batch=batch_id is not None)
        return Outcome(item.recipient, OutcomeStatus.SKIPPED, reason="dry_run",
                       batch_id=batch_id, message=message)

    def _message(self, items: Sequence[Item], body: str, *, batch: bool) -> Message:
        spec = self._spec
        # A batch carries the body already rendered, the same for all: plain numbers only (a
        # native multi-recipient send cannot fill per-recipient variables, and refuses them).
        to = tuple(i.recipient.phone for i in items) if batch else (items[0].recipient,)
        return Message(to, body, spec.sender, spec.attachments, spec.options)

    # --- the workers ----------------------------------------------------------------------

    async def _work(self, w: int) -> None:
        queue = self._queue
        while not self.stopping:
            unit = await queue.get()
            if unit is _END:
                return
            if isinstance(unit, Batch):
                await self._deliver(w, unit.items, unit.body, batch=True)
            else:
                await self._deliver(w, [unit], unit.body or "", batch=False)

    async def _deliver(self, w: int, items: list[Item], body: str, *, batch: bool) -> None:
        session = self._session
        attempts = recorded = 0  # recorded: attempts already added to the journal rows
        claimed = items
        claim_sent = finished = False
        raced: list[tuple[Item, Outcome]] = []
        try:
            while True:
                if not self._throttle.idle:
                    await self._throttle.acquire()
                self._busy[w] = True
                if session is not None and not claim_sent:
                    claim_sent = True
                    claimed, lost = await self._claim(session, claimed)
                    raced.extend(lost)
                    if not claimed:
                        break
                attempts += 1
                try:
                    outcomes, delay = await self._attempt(claimed, body, batch, attempts)
                except asyncio.CancelledError:
                    finished = True
                    with contextlib.suppress(JournalError):  # the job reports a broken journal
                        self._finish(claimed, unknown_outcomes(
                            claimed, attempts, self._provider_name, "cancelled",
                            "the job was cancelled while this message was in flight; it may "
                            "have been sent"), attempts - recorded)
                    raise
                if outcomes is None:  # retrying: surely not sent, nothing is in flight
                    self._busy[w] = False
                    if session is not None:
                        # Hand the recipients back while waiting (a 429's pause can last a
                        # minute): a crash meanwhile leaves them pending, not UNKNOWN.
                        for item in claimed:
                            session.release(item.key, attempts - recorded)
                        recorded, claim_sent = attempts, False
                    if self.stopping:
                        break
                    if delay > 0:
                        await asyncio.sleep(delay)
                    continue
                if session is not None:
                    self._finish(claimed, outcomes, attempts - recorded)
                finished = True
                self._busy[w] = False
                for item, outcome in zip(claimed, outcomes, strict=True):
                    await self._emit(item.index, outcome)
                break
            self._busy[w] = False
            for item, outcome in raced:
                await self._emit(item.index, outcome)
        finally:
            self._busy[w] = False
            if not self._throttle.idle:
                self._throttle.release()
            if session is not None and claim_sent and not finished:
                with contextlib.suppress(JournalError):
                    for item in claimed:
                        session.release(item.key, attempts - recorded)

    async def _claim(
        self, session: JobSession, items: list[Item]
    ) -> tuple[list[Item], list[tuple[Item, Outcome]]]:
        """Commit the in-flight marks; split off recipients another run holds or finished."""
        priors = await session.claim(
            [ClaimEntry(i.key, i.index, i.recipient.variables) for i in items])
        if all(p is None for p in priors):
            return items, []  # the usual case: every recipient was free
        claimed = [i for i, p in zip(items, priors, strict=True) if p is None]
        raced = [(i, self._from_prior(i, p))
                 for i, p in zip(items, priors, strict=True) if p is not None]
        return claimed, raced

    async def _attempt(
        self, items: list[Item], body: str, batch: bool, attempts: int
    ) -> tuple[list[Outcome] | None, float]:
        """One request: final outcomes, or (None, delay) when it is to be retried."""
        message = self._message(items, body, batch=batch)
        try:
            if batch:
                result: Any = await self._provider.send_batch(message)  # type: ignore[attr-defined]
            else:
                result = await self._provider.send(message)
        except SmsBridgeError as error:
            return self._after_error(items, error, attempts)
        except Exception as error:  # a provider bug: the request may have gone out
            logger.warning("%s.send raised %s; reported UNKNOWN", self._provider_name,
                           type(error).__name__, exc_info=True)
            return unknown_outcomes(
                items, attempts, self._provider_name, "unexpected_error",
                f"the provider raised {type(error).__name__}: {error}; the message may have "
                "been sent"), 0.0
        return success_outcomes(items, result, attempts, self._next_batch_id, self.batches), 0.0

    def _next_batch_id(self) -> str:
        self._batch_seq += 1
        return f"{self.job_id}-b{self._batch_seq}"

    def _after_error(
        self, items: list[Item], error: SmsBridgeError, attempts: int
    ) -> tuple[list[Outcome] | None, float]:
        """Final outcomes for this error, or (None, delay) when the send is retried."""
        if classify(error) is SendState.UNKNOWN:
            return unknown_outcomes(items, attempts, self._provider_name, "delivery_unknown",
                                    str(error), error), 0.0
        delay = self._retry.delay_for(error, attempts, idempotent=False)
        if isinstance(error, RateLimitError):
            # One 429 holds every worker: the pause is on the shared throttle, which this
            # worker waits on too before its retry.
            wait = server_delay(error.retry_after, self._throttle.max_pause)
            self._throttle.pause(self._retry.backoff(attempts) if wait is None else wait)
            delay = None if delay is None else 0.0
        if delay is None:
            return failure_outcomes(items, attempts, self._provider_name, error), 0.0
        return None, delay

    def _finish(self, items: list[Item], outcomes: list[Outcome], attempts: int) -> None:
        if self._session is not None:
            for item, outcome in zip(items, outcomes, strict=True):
                self._session.done(item.key, outcome, attempts)


def _source_entry(raw: Any) -> list[Any]:
    phone = getattr(raw, "phone", raw)
    variables = getattr(raw, "variables", None)
    return [phone if isinstance(phone, str) else repr(phone)[:40],
            dict(variables) if variables else None]
