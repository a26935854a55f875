"""The engine of one job run: one producer, a bounded pool of workers, the outcome rule.

The producer reads the source (any iterable or async iterable), prepares each recipient and
queues it (or a batch) on a queue holding a few items per worker; the workers claim, throttle
and send. Memory is O(concurrency) whatever the source's size; only the de-dup set grows.

Cancellation: the producer stops at once, idle workers stop at once, and workers with a request
in flight get ``grace`` seconds to finish; any still running then becomes UNKNOWN. Recipients a
worker had claimed but not sent are handed back to ``pending`` in the journal. A repeated
cancellation cuts the grace short but still waits for every worker to record its state.

Stopping early: an account-level error (see ``errors.error_scope``) stops the job at once, and
so do ``stop_after`` service-level failures in a row that all failed the same way. Recipients
not yet attempted are then SKIPPED with reason ``job_stopped`` and never written as final to
the journal, so they stay pending there and a resume sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import AsyncIterable, Iterable, Sequence
from typing import Any, Protocol

from .. import _constants as C
from .._logging import logger
from ..errors import (
    ErrorScope,
    JournalError,
    SmsBridgeError,
    StoreUnavailableError,
    error_scope,
)
from ..journal.protocol import ClaimEntry, Prior, RunSession, SuppressionList, resolve
from ..limits.protocol import Permit
from ..limits.throttle import Throttle, pipelined
from ..models import Message, Outcome, OutcomeStatus
from ..protocol import MessagingProvider, SendContext
from ..telemetry import Telemetry
from ..transport.budget import AttemptBudget
from ..transport.retry import RetryPolicy, decide
from .batcher import Batch, Batcher
from .channel import Channel
from .compliance import ComplianceReport, ComplianceTally, JobRules, quiet_hours_outcome
from .outcomes import failure_outcomes, success_outcomes, unknown_outcomes
from .preparer import Item, Preparer, opted_out_outcome
from .report import StopCause, Tally
from .spec import JobSpec

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
        session: RunSession | None,
        lookup: Any,
        resend_unknown: bool,
        tally: Tally,
        retry_failed: bool = False,
        sink: Sink,
        job_id: str,
        grace: float,
        store_source: bool,
        stop_after: int = 0,
        suppression: SuppressionList | None = None,
        telemetry: Telemetry | None = None,
        rules: JobRules | None = None,
        compliance: ComplianceTally | None = None,
    ) -> None:
        self._provider = provider
        self._provider_name = provider.name
        # Checked once: a pipelined provider gets the permit and budget with each send.
        self._pipelined = pipelined(provider)
        self._spec = spec
        self._preparer = preparer
        self._throttle = throttle
        self._retry = retry
        self._concurrency = concurrency
        self._dry_run = dry_run
        self._session = session
        # Checked right before each claim, so a STOP that arrives mid-job stops the next send.
        self._suppression = suppression
        self._lookup_fn = lookup  # async (keys) -> {key: Prior}, set when the job has rows
        self._resend_unknown = resend_unknown
        self._retry_failed = retry_failed
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
        # Quiet hours: recipients outside their window wait here, earliest first, never claimed
        # (so a job killed meanwhile leaves them pending and a resume checks them again).
        self._rules = rules or JobRules()
        self._compliance = compliance or ComplianceTally()
        self._held: list[tuple[Any, int, Item]] = []
        self._pending_lookup: list[Item] = []
        self._source_chunk: list[Any] = []
        self._chunks = 0
        self._batch_seq = 0
        self.read = 0
        self.source_complete = False
        self.stopping = False
        self.batches: dict[str, tuple[str, ...]] = {}
        # Stopping early (see the module docstring): 0 turns the failure streak rule off.
        self._stop_after = stop_after
        self._streak = 0
        self._streak_kind: tuple[Any, ...] | None = None
        self.stopped: StopCause | None = None
        self._telemetry = telemetry
        # Chosen once: without telemetry a send takes no detour at all.
        self._send = self._attempt if telemetry is None else self._traced_attempt

    @property
    def compliance(self) -> ComplianceReport:
        """Segments, cost, look-alikes replaced and quiet hours so far (see ComplianceReport)."""
        return self._compliance.report()

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
        except asyncio.CancelledError:
            pass  # cancelled again: no more grace for the sends in flight
        # Wait for every task however often we are cancelled meanwhile: returning earlier lets
        # the caller close the journal under workers still recording their outcomes.
        tasks = [producer, *workers]
        while not all(task.done() for task in tasks):
            for task in workers:
                task.cancel()
            try:
                await asyncio.wait(tasks)
            except asyncio.CancelledError:
                continue
        for task in (producer, *workers):
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: the first error is the one re-raised

    async def _emit(self, index: int, outcome: Outcome) -> None:
        self._tally.add(outcome)
        if self._telemetry is not None:
            self._telemetry.outcome(provider=outcome.provider or self._provider_name,
                                    status=outcome.status.value, reason=outcome.reason)
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
        await self._release_held(wait=True)
        for _ in range(0 if self._dry_run else self._concurrency):
            await self._queue.put(_END)

    async def _take(self, raw: Any) -> None:
        if self.stopping:
            # The run is stopping, so the producer was cancelled; a source that swallowed that
            # cancellation (seen with a Redis client cancelled mid-read) must not have this
            # producer queue work nobody will take: it would wait on the queue forever.
            raise asyncio.CancelledError
        if self._held and self._held[0][0] <= self._rules.now():
            await self._release_held(wait=False)
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
            self._resend_unknown and prior.state in ("in_flight", "unknown")) or (
            self._retry_failed and prior.state == "failed")

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
        elif self.stopped is not None:
            await self._emit(item.index, self._stopped_outcome(item))
        elif self._rules.quiet_hours is not None and await self._hold(item):
            return
        elif self._batcher is not None:
            for batch in self._batcher.add(item):
                await self._dispatch_batch(batch)
        elif self._dry_run:
            await self._emit(item.index, self._dry_outcome(item, None, [item]))
        else:
            await self._queue.put(item)

    async def _hold(self, item: Item) -> bool:
        """Keep ``item`` from being sent outside its quiet-hours window: held until it opens,
        or SKIPPED ``quiet_hours`` (never final in the journal) when not waiting. True when
        it was kept; False when it may be sent now."""
        check = self._rules.check(item.recipient.phone)
        if check is None or check.allowed:
            return False
        if self._dry_run:
            self._compliance.held.add(check)
            return False  # reported as what would be sent; the tally says when
        if not self._rules.wait or check.next_allowed is None:
            self._compliance.skipped.add(check)
            await self._emit(item.index, quiet_hours_outcome(item.recipient, check))
            return True
        self._compliance.held.add(check)
        heapq.heappush(self._held, (check.next_allowed, item.index, item))
        return True

    async def _release_held(self, *, wait: bool) -> None:
        """Queue the held recipients whose window has opened (re-checked: zones may differ);
        with ``wait``, sleep until the last one is queued."""
        held = self._held
        while held:
            if self.stopped is not None:  # never attempted: pending in the journal
                while held:
                    item = heapq.heappop(held)[2]
                    await self._emit(item.index, self._stopped_outcome(item))
                return
            due, _, item = held[0]
            now = self._rules.now()
            if due > now:
                if not wait:
                    return
                # In slices, so a clock that jumps (a suspended laptop) is noticed.
                delay = (due - now).total_seconds()
                await asyncio.sleep(min(delay, C.QUIET_HOURS_MAX_SLEEP) + 0.001)
                continue
            heapq.heappop(held)
            check = self._rules.check(item.recipient.phone)
            assert check is not None
            if check.allowed:
                await self._queue.put(item)
            elif check.next_allowed is None:
                self._compliance.skipped.add(check)
                await self._emit(item.index, quiet_hours_outcome(item.recipient, check))
            else:
                heapq.heappush(held, (check.next_allowed, item.index, item))

    async def _in_window(
        self, items: list[Item], skipped: list[tuple[Item, Outcome]]
    ) -> tuple[list[Item], bool]:
        """Right before the claim: a recipient queued at 20:59 may be due at 21:00. Waits
        (unclaimed, so cancellable and pending) until every item is inside its window again;
        returns the items to send and whether it waited."""
        waited = False
        while True:
            latest = None
            keep = []
            for item in items:
                check = self._rules.check(item.recipient.phone)
                if check is None or check.allowed:
                    keep.append(item)
                elif check.next_allowed is None:
                    self._compliance.skipped.add(check)
                    skipped.append((item, quiet_hours_outcome(item.recipient, check)))
                else:
                    keep.append(item)
                    due = check.next_allowed
                    latest = due if latest is None or due > latest else latest
            items = keep
            if latest is None or not items:
                return items, waited
            waited = True
            delay = (latest - self._rules.now()).total_seconds()
            await asyncio.sleep(min(max(delay, 0.0), C.QUIET_HOURS_MAX_SLEEP) + 0.001)

    async def _dispatch_batch(self, batch: Batch) -> None:
        if self.stopped is not None:
            for item in batch.items:
                await self._emit(item.index, self._stopped_outcome(item))
            return
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
            if self.stopped is not None:  # queued before the job stopped: never attempted
                for item in unit.items if isinstance(unit, Batch) else (unit,):
                    await self._emit(item.index, self._stopped_outcome(item))
                continue
            if isinstance(unit, Batch):
                await self._deliver(w, unit.items, unit.body, batch=True)
            else:
                await self._deliver(w, [unit], unit.body or "", batch=False)

    async def _deliver(self, w: int, items: list[Item], body: str, *, batch: bool) -> None:
        session = self._session
        # One budget for every request this send makes, the provider's own retries included.
        budget = AttemptBudget(self._retry.max_retries + 1)
        attempts = recorded = 0  # recorded: attempts already added to the journal rows
        claimed = items
        claim_sent = finished = False
        raced: list[tuple[Item, Outcome]] = []
        try:
            while True:
                try:
                    permit = None if self._throttle.idle else await self._throttle.acquire()
                except StoreUnavailableError as error:
                    raced.extend(self._not_sent(claimed, error, budget.used, recorded))
                    break
                if self.stopped is not None:  # nothing of this unit is claimed or in flight
                    raced.extend((item, self._stopped_outcome(item)) for item in claimed)
                    break
                if self._rules.quiet_hours is not None and not claim_sent:
                    claimed, waited = await self._in_window(claimed, raced)
                    if not claimed:
                        break
                    if waited:
                        continue  # the permit is stale by now: take a fresh one
                self._busy[w] = True
                if self._suppression is not None and not claim_sent:
                    try:
                        claimed = await self._drop_opted_out(claimed, raced)
                    except StoreUnavailableError as error:
                        raced.extend(self._not_sent(claimed, error, budget.used, recorded))
                        break
                    if not claimed:
                        break
                if session is not None and not claim_sent:
                    claim_sent = True
                    claimed, lost = await self._claim(session, claimed)
                    raced.extend(lost)
                    if not claimed:
                        break
                try:
                    outcomes, delay = await self._send(claimed, body, batch, budget, permit)
                except asyncio.CancelledError:
                    attempts = budget.used
                    finished = True
                    with contextlib.suppress(JournalError):  # the job reports a broken journal
                        self._finish(claimed, unknown_outcomes(
                            claimed, attempts, self._provider_name, "cancelled",
                            "the job was cancelled while this message was in flight; it may "
                            "have been sent"), attempts - recorded)
                    raise
                attempts = budget.used
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
                self._observe(outcomes)
                self._busy[w] = False
                for item, outcome in zip(claimed, outcomes, strict=True):
                    await self._emit(item.index, outcome)
                break
            self._busy[w] = False
            for item, outcome in raced:
                await self._emit(item.index, outcome)
        finally:
            self._busy[w] = False
            if session is not None and claim_sent and not finished:
                with contextlib.suppress(JournalError):
                    for item in claimed:
                        session.release(item.key, attempts - recorded)

    def _not_sent(
        self, items: list[Item], error: StoreUnavailableError, attempts: int, recorded: int
    ) -> list[tuple[Item, Outcome]]:
        """FAILED (surely not sent): a shared limiter or suppression list that cannot be asked
        is never a permission to send, and there is no silent fall-back to local state."""
        outcomes = failure_outcomes(items, attempts, self._provider_name, error)
        if self._session is not None:  # never claimed here: recorded final straight away
            for item, outcome in zip(items, outcomes, strict=True):
                self._session.final(item.key, item.index, outcome, attempts - recorded,
                                    item.recipient.variables)
        self._observe(outcomes)  # a store that stays away stops the job (service scope)
        return list(zip(items, outcomes, strict=True))

    async def _drop_opted_out(
        self, items: list[Item], skipped: list[tuple[Item, Outcome]]
    ) -> list[Item]:
        """The items whose number is not suppressed now; the others are SKIPPED (final)."""
        assert self._suppression is not None
        check = self._suppression.is_suppressed
        # Every number is asked before any is acted on: a store failing halfway leaves all of
        # them unrecorded, to fail together as not sent.
        suppressed = [await resolve(check(item.recipient.phone)) for item in items]
        keep = []
        for item, opted_out in zip(items, suppressed, strict=True):
            if opted_out:
                outcome = opted_out_outcome(item.recipient)
                if self._session is not None:
                    self._session.final(item.key, item.index, outcome, 0,
                                        item.recipient.variables)
                skipped.append((item, outcome))
            else:
                keep.append(item)
        return keep

    async def _claim(
        self, session: RunSession, items: list[Item]
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
        self, items: list[Item], body: str, batch: bool, budget: AttemptBudget,
        permit: Permit | None,
    ) -> tuple[list[Outcome] | None, float]:
        """One send: final outcomes, or (None, delay) when it is to be retried."""
        message = self._message(items, body, batch=batch)
        before = budget.used
        provider: Any = self._provider
        try:
            if self._pipelined:
                context = SendContext(permit, budget)
                if batch:
                    result: Any = await provider.send_batch(message, context=context)
                else:
                    result = await provider.send(message, context=context)
            elif batch:
                result = await provider.send_batch(message)
            else:
                result = await provider.send(message)
        except SmsBridgeError as error:
            budget.settle(before)
            return await self._after_error(items, error, budget.used)
        except Exception as error:  # a provider bug: the request may have gone out
            budget.settle(before)
            attempts = budget.used
            logger.warning("%s.send raised %s; reported UNKNOWN", self._provider_name,
                           type(error).__name__, exc_info=True)
            return unknown_outcomes(
                items, attempts, self._provider_name, "unexpected_error",
                f"the provider raised {type(error).__name__}: {error}; the message may have "
                "been sent"), 0.0
        finally:
            budget.settle(before)
        return success_outcomes(items, result, budget.used, self._next_batch_id,
                                self.batches), 0.0

    async def _traced_attempt(
        self, items: list[Item], body: str, batch: bool, budget: AttemptBudget,
        permit: Permit | None,
    ) -> tuple[list[Outcome] | None, float]:
        """:meth:`_attempt` inside a ``smsbridge.send`` span (its HTTP spans are children)."""
        assert self._telemetry is not None
        with self._telemetry.attempt(
                provider=self._provider_name, attempt=budget.used + 1, recipients=len(items),
                to=None if batch else items[0].recipient.phone) as span:
            outcomes, delay = await self._attempt(items, body, batch, budget, permit)
            if outcomes is None:
                span.finish("retrying")
            else:
                span.finish(outcomes[0].status.value, outcomes[0].reason)
            return outcomes, delay

    def _next_batch_id(self) -> str:
        self._batch_seq += 1
        return f"{self.job_id}-b{self._batch_seq}"

    async def _after_error(
        self, items: list[Item], error: SmsBridgeError, attempts: int
    ) -> tuple[list[Outcome] | None, float]:
        """Final outcomes for this error, or (None, delay) when the send is retried."""
        decision = decide(error, attempts, self._retry, idempotent=False)
        if decision.unknown:
            return unknown_outcomes(items, attempts, self._provider_name, "delivery_unknown",
                                    str(error), error), 0.0
        delay = decision.wait
        if decision.pause is not None:
            # One 429 holds every worker: the limiter (or, without one, the throttle) is
            # paused, and this worker waits on it too at its next acquire.
            try:
                await self._throttle.pause(decision.pause)
            except StoreUnavailableError as unavailable:  # the pause cannot be shared: stop here
                return failure_outcomes(items, attempts, self._provider_name, unavailable), 0.0
            delay = None if delay is None else 0.0
        if delay is None:
            return failure_outcomes(items, attempts, self._provider_name, error), 0.0
        return None, delay

    def _observe(self, outcomes: list[Outcome]) -> None:
        """Stop the job on an account-level error, or on ``stop_after`` service-level failures
        in a row of one kind (same error type, status and reason): sending on would only burn
        the remaining recipients (FAILED) or hammer a provider that is down."""
        outcome = outcomes[0]
        error = outcome.exception
        if outcome.status is OutcomeStatus.SENT or error is None:
            self._streak = 0
            return
        scope = error_scope(error)
        if scope is ErrorScope.ACCOUNT:
            self._halt(scope, outcome.reason or "auth", error)
            return
        if scope is ErrorScope.REQUEST or not self._stop_after:
            self._streak = 0
            return
        kind = (type(error), getattr(error, "status", None), outcome.reason)
        if kind != self._streak_kind:
            self._streak_kind, self._streak = kind, 0
        self._streak += 1
        if self._streak >= self._stop_after:
            self._halt(scope, outcome.reason or "error", error)

    def _halt(self, scope: ErrorScope, reason: str, error: SmsBridgeError) -> None:
        if self.stopped is not None:
            return
        self.stopped = StopCause(scope.value, reason, str(error), error)
        logger.warning("job %s stopped early: %s", self.job_id, self.stopped)

    def _stopped_outcome(self, item: Item) -> Outcome:
        where = ("it stays pending in the journal, so resuming the job sends it"
                 if self._session is not None else "send to it again once the cause is fixed")
        return Outcome(item.recipient, OutcomeStatus.SKIPPED, reason="job_stopped",
                       error=f"not attempted: the job stopped early after a {self.stopped}; "
                             f"{where}", provider=self._provider_name)

    def _finish(self, items: list[Item], outcomes: list[Outcome], attempts: int) -> None:
        if self._session is not None:
            for item, outcome in zip(items, outcomes, strict=True):
                self._session.done(item.key, outcome, attempts)


def _source_entry(raw: Any) -> list[Any]:
    phone = getattr(raw, "phone", raw)
    variables = getattr(raw, "variables", None)
    return [phone if isinstance(phone, str) else repr(phone)[:40],
            dict(variables) if variables else None]
