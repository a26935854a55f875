"""One bulk job worked by many processes: a job store in Redis (:class:`RedisJobStore`).

How it fits together:

- A coordinator (:meth:`RedisJobStore.enqueue`) normalises and de-duplicates the job's
  recipients across the whole job and writes them in chunks to a Redis Stream, each chunk under
  an explicit entry id (``<chunk number>-1``) together with its recipients' ``pending``
  records, in one script: a re-run coordinator skips the chunks already there, so it adds no
  duplicate.
- Workers (``Dispatcher(provider, journal=RedisJobStore(url)).resume(job_id)``) read chunks
  through the stream's consumer group and send with their own concurrency and limiter.
- **The store, not the stream, decides who may send.** Every recipient has one record
  (``pending`` -> ``in_flight`` with owner and claim count -> final with outcome and reason);
  a claim is a compare-and-set in Lua, so a recipient handed to two workers is sent by at most
  one. An in-flight record is never handed back to ``pending`` by anybody but its owner: when
  a dead worker's chunk is reclaimed, its in-flight recipients become UNKNOWN (maybe sent) —
  the outcome rule across processes. No expiring ``SET NX`` key is the guard: a key can expire
  under a paused holder, a record does not.
- A worker's chunks are reclaimed only once its heartbeat key has been missing for a while
  (never on the stream's idle time alone, which grows under any slow but live worker).
- A chunk is acknowledged in the same script that stores the last of its outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import attrs
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from .._logging import logger
from ..dispatch.spec import JobSpec, dumps
from ..errors import ConfigurationError, InvalidPhoneNumber, JournalError
from ..journal.protocol import ClaimEntry, Prior
from ..journal.report import JobInfo
from ..models import Outcome, Recipient
from ..phone import normalize
from ._connection import DEFAULT_TIMEOUT, RedisConnection, Script
from .errors import StoreDurabilityError, StoreUnavailableError

__all__ = ["EnqueueResult", "RedisJobReport", "RedisJobStore", "RedisRunSession"]

PREFIX = "smsbridge:job"
GROUP = "workers"
DEFAULT_HEARTBEAT_TIMEOUT = 10.0
DEFAULT_CHUNK_SIZE = 500
DEFAULT_OUTAGE = 60.0  # how long a run waits for an unreachable Redis before failing
_POLL = 0.2  # seconds between looks at the stream when it has nothing new
_FINAL_STATES = frozenset({"sent", "failed", "unknown", "skipped"})

_APPLY = Script("job_apply.lua")
_ENQUEUE = Script("job_enqueue.lua")


class JobKeys:
    """The keys of one job, all in one hash tag (one Redis Cluster slot: scripts may touch
    several of them)."""

    def __init__(self, job_id: str) -> None:
        base = f"{PREFIX}:{{{job_id}}}"
        self.meta = f"{base}:meta"
        self.records = f"{base}:records"
        self.counts = f"{base}:counts"
        self.stream = f"{base}:chunks"
        self._hb = f"{base}:hb:"

    def heartbeat(self, run_id: str) -> str:
        return self._hb + run_id


@attrs.frozen(slots=True)
class EnqueueResult:
    """What a coordinator run wrote: ``chunks_added`` is 0 for a re-run that found all there."""

    job_id: str
    read: int
    recipients: int
    duplicates: int
    invalid: int
    chunks: int
    chunks_added: int


@attrs.frozen(slots=True)
class RedisJobReport:
    """A job's state in Redis: counts per record state, whether its recipients are all
    enqueued, and whether the job runs with relaxed durability (see :class:`RedisJobStore`)."""

    job_id: str
    states: Mapping[str, int]
    total: int
    enqueued: bool
    relaxed_durability: bool
    workers: int
    takeovers: int = 0  # chunks taken over from workers whose heartbeat stopped

    def count(self, state: str) -> int:
        return self.states.get(state, 0)

    @property
    def sent(self) -> int:
        return self.count("sent")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def unknown(self) -> int:
        return self.count("unknown")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def done(self) -> int:
        return sum(self.count(s) for s in _FINAL_STATES)

    @property
    def open(self) -> int:
        """Recipients without an outcome yet (pending or in flight)."""
        return self.count("pending") + self.count("in_flight")

    @property
    def complete(self) -> bool:
        return self.enqueued and self.open == 0


class RedisJobStore:
    """A :class:`~smsbridge.journal.protocol.JobStore` in Redis, shared by many workers.

    ``Dispatcher(provider, journal=RedisJobStore(url))``: ``resume(job_id)`` joins the job as
    one more worker. :meth:`enqueue` is the coordinator's side, :meth:`report` the job's state.

    Durability: before the first write the store reads Redis's ``appendonly`` and
    ``appendfsync``. Only ``appendonly yes`` + ``appendfsync always`` makes an acknowledged
    claim survive a Redis crash; anything else raises :class:`StoreDurabilityError` naming
    what to set, unless ``relaxed_durability=True`` (then a Redis crash may lose up to about a
    second of claims, and those recipients can be texted again; the job records the flag and
    reports show it).

    ``heartbeat_timeout``: a worker whose heartbeat has been missing this long (plus half of
    it again, so a Redis that was itself paused does not make every worker look dead) loses its
    unfinished chunks to the others; its in-flight recipients become UNKNOWN.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: aioredis.Redis | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        relaxed_durability: bool = False,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        outage: float = DEFAULT_OUTAGE,
    ) -> None:
        if not heartbeat_timeout > 0.3:
            raise ConfigurationError(
                f"heartbeat_timeout must be above 0.3 seconds (got {heartbeat_timeout!r})")
        if not (isinstance(chunk_size, int) and chunk_size >= 1):
            raise ConfigurationError(f"chunk_size must be an integer >= 1 (got {chunk_size!r})")
        self._conn = RedisConnection(url, client=client, timeout=timeout)
        self.relaxed_durability = relaxed_durability
        self.heartbeat_timeout = float(heartbeat_timeout)
        self.chunk_size = chunk_size
        self.outage = float(outage)
        self._checked = False
        self._sessions: dict[str, RedisRunSession] = {}

    def __repr__(self) -> str:
        return f"RedisJobStore({self._conn.url!r})"

    @property
    def location(self) -> str:
        return self._conn.url

    @property
    def url(self) -> str:
        return self._conn.url

    # --- durability -------------------------------------------------------------------------

    async def check_durability(self) -> str:
        """Redis's persistence as a phrase; raises StoreDurabilityError when claims could be
        lost in a Redis crash (unless ``relaxed_durability``)."""
        client = self._conn.client

        async def read() -> tuple[str, str]:
            aof = await client.config_get("appendonly")
            fsync = await client.config_get("appendfsync")
            return _text(aof.get("appendonly")), _text(fsync.get("appendfsync"))

        try:
            appendonly, appendfsync = await self._conn.call("reading its persistence", read)
        except redis_errors.ResponseError as exc:  # CONFIG disabled (managed Redis)
            if self.relaxed_durability:
                return "unknown (CONFIG GET refused)"
            raise StoreDurabilityError(
                f"Redis at {self.url} refused CONFIG GET ({exc}), so smsbridge cannot check "
                "that it writes every claim to disk before answering. Make sure it runs with "
                "appendonly yes and appendfsync always, then pass relaxed_durability=True "
                "(CLI: --relaxed-durability) to proceed without the check.", url=self.url,
                setting="CONFIG GET") from None
        self._checked = True
        if appendonly == "yes" and appendfsync == "always":
            return "appendonly yes, appendfsync always"
        phrase = f"appendonly {appendonly or '?'}, appendfsync {appendfsync or '?'}"
        if self.relaxed_durability:
            logger.warning("Redis at %s runs with %s: a Redis crash may lose up to a second of "
                           "claims, and those recipients may be texted twice", self.url, phrase)
            return phrase
        wanted = "appendonly yes" if appendonly != "yes" else "appendfsync always"
        raise StoreDurabilityError(
            f"Redis at {self.url} runs with {phrase}: a Redis crash could lose claims it "
            "already acknowledged, and those recipients could be texted twice. Set "
            "appendonly yes and appendfsync always (redis.conf, or CONFIG SET appendonly yes "
            "and CONFIG SET appendfsync always), or accept the risk with "
            "relaxed_durability=True (CLI: --relaxed-durability).", url=self.url,
            setting=wanted)

    async def _ensure_durable(self) -> None:
        if not self._checked:
            await self.check_durability()
            self._checked = True

    # --- the coordinator ------------------------------------------------------------------

    async def enqueue(
        self,
        recipients: Iterable[Any],
        *,
        spec: JobSpec,
        job_id: str | None = None,
        provider: str = "",
        region: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> EnqueueResult:
        """Write the job (spec and fingerprint), then its recipients in chunks to the stream.

        Numbers are normalised (E.164) and de-duplicated over the whole job; an invalid or
        duplicate entry gets a final SKIPPED record of its own (``#<position>``). Run again
        with the same recipients after a crash: chunks already written are skipped.
        """
        await self._ensure_durable()
        job_id, _ = await self.resolve_job(spec, job_id)
        keys = JobKeys(job_id)
        client = self._conn.client
        settings = dict(settings or {})
        settings.setdefault("default_region", region)

        async def create() -> None:
            async with client.pipeline(transaction=True) as pipe:
                pipe.hsetnx(keys.meta, "fingerprint", spec.fingerprint())
                pipe.hsetnx(keys.meta, "spec", dumps(spec.to_json()))
                pipe.hsetnx(keys.meta, "created_at", repr(time.time()))
                pipe.hset(keys.meta, mapping={
                    "provider": provider, "settings": dumps(settings),
                    "relaxed": "1" if self.relaxed_durability else "0",
                    "updated_at": repr(time.time())})
                await pipe.execute()
            with contextlib.suppress(redis_errors.ResponseError):  # BUSYGROUP: already there
                await client.xgroup_create(keys.stream, GROUP, id="0", mkstream=True)

        await self._conn.call("creating the job", create)
        seen: set[int] = set()
        read = recipients_n = duplicates = invalid = chunks = added = 0
        args: list[Any] = []
        in_chunk = 0

        async def flush() -> None:
            nonlocal chunks, added, args, in_chunk
            chunks += 1
            result = int(await self._conn.run(
                _ENQUEUE, [keys.records, keys.counts, keys.stream, keys.meta],
                [f"{chunks}-1", read, *args], "adding a chunk"))
            added += 1 if result >= 0 else 0
            args, in_chunk = [], 0

        for raw in recipients:
            index = read
            read += 1
            recipient = raw if isinstance(raw, Recipient) else Recipient(str(raw))
            try:
                phone = normalize(recipient.phone, region)
            except InvalidPhoneNumber as exc:
                invalid += 1
                args += [f"#{index}", _record("skipped", index, "invalid_number", str(exc)), ""]
            else:
                digits = int(phone[1:])
                if digits in seen:
                    duplicates += 1
                    args += [f"#{index}", _record(
                        "skipped", index, "duplicate", "the number appears earlier in this job"),
                        ""]
                else:
                    seen.add(digits)
                    recipients_n += 1
                    in_chunk += 1
                    args += [phone, _record("pending", index),
                             dumps([phone, dict(recipient.variables) or None, index])]
            if in_chunk >= self.chunk_size or len(args) >= 12 * self.chunk_size:
                await flush()
        if args:
            await flush()

        async def complete() -> None:
            await client.hset(keys.meta, mapping={
                "enqueued": "1", "total": read, "recipients": recipients_n,
                "updated_at": repr(time.time())})

        await self._conn.call("completing the job", complete)
        return EnqueueResult(job_id, read, recipients_n, duplicates, invalid, chunks, added)

    # --- the job store protocol ---------------------------------------------------------

    async def _meta(self, job_id: str) -> dict[str, str]:
        keys = JobKeys(job_id)
        raw = await self._conn.call("reading the job", lambda: self._conn.client.hgetall(
            keys.meta))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def find_job(self, job_id: str | None = None) -> JobInfo:
        if not job_id:
            raise ConfigurationError("a Redis job store needs the job id (--job J)")
        meta = await self._meta(job_id)
        if "spec" not in meta:
            raise JournalError(
                f"no job {job_id!r} in {self.url}: start it with enqueue() (CLI: smsbridge "
                f"bulk FILE --store URL --job-id {job_id})")
        return _job_info(job_id, meta)

    def job_source(self, job_id: str) -> AsyncIterator[Any]:
        return self._source(job_id)

    async def stored_count(self, job_id: str) -> int:
        meta = await self._meta(job_id)
        return int(meta.get("read") or 0)

    async def resolve_job(self, spec: JobSpec, job_id: str | None) -> tuple[str, bool]:
        fingerprint = spec.fingerprint()
        job_id = job_id or f"job-{fingerprint[:16]}"
        meta = await self._meta(job_id)
        stored = meta.get("fingerprint")
        if stored is not None and stored != fingerprint:
            raise ConfigurationError(
                f"job {job_id!r} in {self.url} was started with a different message (body, "
                "sender, attachments or options); pass a new job id to start another job, or "
                "the original message to continue this one")
        return job_id, stored is not None

    async def begin_job(
        self, spec: JobSpec, *, job_id: str | None, provider: str,
        settings: Mapping[str, Any], total: int | None, replace_source: bool, run_id: str,
    ) -> tuple[str, bool]:
        """Join the job as one more worker (many runs share a Redis job: no JobBusyError)."""
        if replace_source:
            raise ConfigurationError(
                "a Redis job's recipients come from its coordinator: enqueue them with "
                "RedisJobStore.enqueue() (CLI: smsbridge bulk FILE --store URL), then run "
                "workers with Dispatcher.resume(job_id) (CLI: smsbridge worker)")
        await self._ensure_durable()
        job_id, exists = await self.resolve_job(spec, job_id)
        if not exists:
            raise JournalError(f"no job {job_id!r} in {self.url}: enqueue it first")
        # Not "resumed": no look-up ahead of the claims. The claim itself answers what another
        # worker holds or finished, and a producer buffering look-ups would sit on recipients
        # of a chunk while waiting for other workers' chunks (each waiting for the other).
        return job_id, False

    def open_session(self, job_id: str, run_id: str, *, resend_unknown: bool,
                     retry_failed: bool = False) -> RedisRunSession:
        session = RedisRunSession(self, job_id, run_id, resend_unknown=resend_unknown,
                                  retry_failed=retry_failed)
        self._sessions[job_id] = session
        return session

    async def lookup(self, job_id: str, keys: Sequence[str]) -> dict[str, Prior]:
        return await _lookup(self._conn, JobKeys(job_id), keys)

    def opted_out(self, phone: str) -> bool:
        # Opt-outs live in a shared SuppressionList (Dispatcher(suppression=...)), checked at
        # claim time; the job store keeps none of its own.
        return False

    def close(self) -> None:
        """Nothing to do synchronously; :meth:`aclose` closes the connection."""

    async def aclose(self) -> None:
        await self._conn.aclose()

    async def __aenter__(self) -> RedisJobStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- reports --------------------------------------------------------------------------

    async def report(self, job_id: str) -> RedisJobReport:
        """The whole job's state: what every worker recorded so far."""
        keys = JobKeys(job_id)
        client = self._conn.client

        async def read() -> tuple[Any, Any, Any]:
            async with client.pipeline(transaction=False) as pipe:
                pipe.hgetall(keys.meta)
                pipe.hgetall(keys.counts)
                pipe.keys(keys.heartbeat("*"))
                return tuple(await pipe.execute())

        meta_raw, counts_raw, beats = await self._conn.call("reading the job report", read)
        meta = {_text(k): _text(v) for k, v in meta_raw.items()}
        if "spec" not in meta:
            raise JournalError(f"no job {job_id!r} in {self.url}")
        states = {_text(k): int(v) for k, v in counts_raw.items() if int(v)}
        return RedisJobReport(
            job_id=job_id, states=MappingProxyType(states), total=int(meta.get("total") or 0),
            enqueued=meta.get("enqueued") == "1", relaxed_durability=meta.get("relaxed") == "1",
            workers=len(beats), takeovers=int(meta.get("takeovers") or 0))

    async def records(self, job_id: str) -> dict[str, dict[str, Any]]:
        """Every recipient's record (key -> fields: ``s`` state, ``r`` reason, ``o`` owner,
        ``c`` claims, ``a`` attempts, ``i`` position): for checks and exports."""
        keys = JobKeys(job_id)
        raw = await self._conn.call("reading the records",
                                    lambda: self._conn.client.hgetall(keys.records))
        return {_text(k): json.loads(v) for k, v in raw.items()}

    # --- a worker's source: the stream ---------------------------------------------------

    async def _source(self, job_id: str) -> AsyncIterator[Any]:
        session = self._sessions.get(job_id)
        if session is None:
            raise JournalError("a Redis job's source is read by a run: use Dispatcher.resume")
        keys = JobKeys(job_id)
        client = self._conn.client
        consumer = session.run_id
        suspects: dict[str, float] = {}
        while True:
            entries = await session.call("reading the job's chunks", lambda: client.xreadgroup(
                GROUP, consumer, {keys.stream: ">"}, count=1))
            batch = _entries(entries)
            if not batch:
                batch = await self._reclaim(session, keys, suspects)
            if batch:
                for entry_id, items in batch:
                    session.track(entry_id, [item[0] for item in items])
                    for item in items:
                        yield Recipient(item[0], item[1] or {})
                    session.tracked(entry_id)
                continue
            meta = await self._meta(job_id)
            if meta.get("enqueued") == "1" and not await self._others_pending(
                    session, keys, consumer):
                return
            await asyncio.sleep(_POLL)

    async def _others_pending(self, session: RedisRunSession, keys: JobKeys,
                              consumer: str) -> bool:
        summary = await session.call("reading the pending chunks",
                                     lambda: self._conn.client.xpending(keys.stream, GROUP))
        return any(_text(c["name"]) != consumer and int(c["pending"])
                   for c in summary.get("consumers") or ())

    async def _reclaim(self, session: RedisRunSession, keys: JobKeys,
                       suspects: dict[str, float]) -> list[tuple[str, list[Any]]]:
        """Take over the chunks of workers whose heartbeat has been gone for long enough."""
        client = self._conn.client
        consumer = session.run_id
        summary = await session.call("reading the pending chunks",
                                     lambda: client.xpending(keys.stream, GROUP))
        now = time.monotonic()
        # Confirmed over half a timeout more: after Redis itself was paused every heartbeat
        # key has expired at once, and live workers renew theirs within a third of it.
        confirm = self.heartbeat_timeout / 2
        for entry in summary.get("consumers") or ():
            name = _text(entry["name"])
            if name == consumer or not int(entry["pending"]):
                continue
            alive = await session.call("reading a heartbeat",
                                       lambda n=name: client.exists(keys.heartbeat(n)))
            if alive:
                suspects.pop(name, None)
                continue
            since = suspects.setdefault(name, now)
            if now - since < confirm:
                continue
            pending = await session.call("listing a dead worker's chunks",
                                         lambda n=name: client.xpending_range(
                                             keys.stream, GROUP, min="-", max="+", count=100,
                                             consumername=n))
            ids: list[Any] = [_text(p["message_id"]) for p in pending]
            if not ids:
                continue
            claimed = await session.call("taking over a dead worker's chunks",
                                         lambda i=ids: client.xclaim(keys.stream, GROUP, consumer,
                                                                 0, i))
            if claimed:
                taken = len(claimed)
                await session.call("counting a takeover", lambda t=taken: client.hincrby(
                    keys.meta, "takeovers", t))
            logger.warning("job %s: worker %s stopped beating; %d of its chunks taken over "
                           "(its in-flight recipients become UNKNOWN)", session.job_id,
                           name[:8], len(claimed))
            return _entries([[keys.stream, claimed]])
        return []


class RedisRunSession:
    """One worker run's writes to a Redis job (a :class:`~smsbridge.journal.protocol.RunSession`).

    Writes are queued and sent with the next claim (one round trip carries both, in order), or
    by the writer task when no claim comes. A write whose reply is lost is simply sent again:
    every step is a compare-and-set. While Redis does not answer, claims wait (up to
    ``outage`` seconds, then fail as not sent); nothing is sent without a claim.
    """

    def __init__(self, store: RedisJobStore, job_id: str, run_id: str, *, resend_unknown: bool,
                 retry_failed: bool) -> None:
        self._store = store
        self._conn = store._conn
        self.job_id = job_id
        self.run_id = run_id
        self._keys = JobKeys(job_id)
        states = ["pending"]
        if resend_unknown:
            states += ["in_flight", "unknown"]
        if retry_failed:
            states.append("failed")
        self._claimable = ",".join(states)
        self._ops: list[str] = []
        self._acks: list[str] = []
        self._claims: list[tuple[list[str], asyncio.Future[list[Prior | None]]]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._failure: BaseException | None = None
        # Chunk bookkeeping: a chunk is acknowledged once every recipient in it is final.
        self._open_keys: dict[str, str] = {}
        self._chunk_left: dict[str, int] = {}
        self._chunk_read: set[str] = set()
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._drive(), name="smsbridge-redis-job-writer")
        self._beat_task = loop.create_task(self._beat(), name="smsbridge-redis-job-heartbeat")

    # --- chunk tracking (called by the store's source) ------------------------------------

    def track(self, entry_id: str, keys: list[str]) -> None:
        self._chunk_left[entry_id] = len(keys)
        for key in keys:
            self._open_keys[key] = entry_id

    def tracked(self, entry_id: str) -> None:
        self._chunk_read.add(entry_id)
        self._maybe_ack(entry_id)

    def _settled(self, key: str) -> None:
        entry_id = self._open_keys.pop(key, None)
        if entry_id is None:
            return
        self._chunk_left[entry_id] -= 1
        self._maybe_ack(entry_id)

    def _maybe_ack(self, entry_id: str) -> None:
        if self._chunk_left.get(entry_id) == 0 and entry_id in self._chunk_read:
            del self._chunk_left[entry_id]
            self._chunk_read.discard(entry_id)
            self._acks.append(entry_id)
            self._wake.set()

    # --- the run session protocol ---------------------------------------------------------

    def claim(self, entries: Sequence[ClaimEntry]) -> asyncio.Future[list[Prior | None]]:
        future: asyncio.Future[list[Prior | None]] = (
            asyncio.get_running_loop().create_future())
        if self._failure is not None:
            future.set_exception(self._failure)
            return future
        self._claims.append(([e.key for e in entries], future))
        self._wake.set()
        return future

    def done(self, key: str, outcome: Outcome, attempts: int) -> None:
        self._op("done", key, a=attempts, **_outcome_fields(outcome))
        self._settled(key)

    def final(self, key: str, index: int, outcome: Outcome, attempts: int,
              variables: Mapping[str, Any] | None = None) -> None:
        self._op("final", key, i=index, a=attempts, **_outcome_fields(outcome))
        self._settled(key)

    def release(self, key: str, attempts: int) -> None:
        self._op("release", key, a=attempts)

    def resolve_interrupted(self, key: str, error: str) -> None:
        self._op("interrupt", key, e=error)
        self._settled(key)

    async def lookup(self, keys: Sequence[str]) -> dict[str, Prior]:
        found = await _lookup(self._conn, self._keys, keys)
        for key, prior in found.items():
            # Final and not to be claimed again by this run: the run only reports it.
            if prior.state in _FINAL_STATES and prior.state not in self._claimable:
                self._settled(key)
        return found

    def store_source(self, chunk: int, items: list[Any], read_so_far: int) -> None:
        raise JournalError("a Redis job's recipients come from its coordinator (enqueue)")

    def set_status(self, status: str, *, total: int | None = None,
                   source_complete: bool | None = None) -> None:
        self._status = status

    async def close(self) -> None:
        """Send every queued write and acknowledgement; stop beating. A run that did not
        finish (Ctrl-C, an error) drops its heartbeat at once, so the others take over its
        unfinished chunks after the confirmation delay instead of a whole timeout."""
        self._closed = True
        self._wake.set()
        try:
            await self._writer
        finally:
            self._beat_task.cancel()
            await asyncio.wait([self._beat_task], timeout=self._conn.timeout + 1)
            with contextlib.suppress(StoreUnavailableError):
                await self._conn.call("ending the heartbeat", lambda: self._conn.client.delete(
                    self._keys.heartbeat(self.run_id)))
            if self._store._sessions.get(self.job_id) is self:
                del self._store._sessions[self.job_id]
        if self._failure is not None:
            raise JournalError(
                f"the Redis job store lost writes of job {self.job_id}: {self._failure}; the "
                "recipients concerned stay in flight and are reported UNKNOWN") from None

    # --- internals ------------------------------------------------------------------------

    async def call(self, what: str, make: Any) -> Any:
        """A read that waits out a Redis outage of up to ``outage`` seconds."""
        start = time.monotonic()
        while True:
            try:
                return await self._conn.call(what, make)
            except StoreUnavailableError:
                task = asyncio.current_task()
                if time.monotonic() - start > self._store.outage or (
                        task is not None and task.cancelling()):
                    raise
                await asyncio.sleep(0.1)

    def _op(self, op: str, key: str, **fields: Any) -> None:
        self._ops.append(json.dumps({"op": op, "k": key, **fields}, separators=(",", ":")))
        self._wake.set()

    async def _drive(self) -> None:
        """The one writer: every queued write, acknowledgement and claim goes in one script
        call, in order; one call at a time, so a claim never overtakes an earlier release."""
        outage_since: float | None = None
        while True:
            if not (self._ops or self._acks or self._claims):
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            ops, acks, claims = self._ops, self._acks, self._claims
            self._ops, self._acks, self._claims = [], [], []
            keys = [k for claim_keys, _ in claims for k in claim_keys]
            try:
                result = await self._conn.run(
                    _APPLY, [self._keys.records, self._keys.counts, self._keys.stream],
                    [self.run_id, self._claimable, repr(time.time()), GROUP, len(ops),
                     len(acks), *ops, *acks, *keys], "recording the job's progress")
            except StoreUnavailableError as exc:
                # Nothing is lost: sent again (compare-and-set) once Redis answers.
                self._ops, self._acks = ops + self._ops, acks + self._acks
                self._claims = claims + self._claims
                now = time.monotonic()
                outage_since = outage_since or now
                if now - outage_since > self._store.outage:
                    self._failure = exc
                    for _, future in self._claims:
                        if not future.done():
                            future.set_exception(exc)
                    self._claims = []
                    if self._closed:
                        return
                await asyncio.sleep(0.1)
                continue
            except Exception as exc:  # a script error: a bug, never "go ahead"
                self._failure = exc
                for _, future in claims:
                    if not future.done():
                        future.set_exception(exc)
                logger.error("job %s: the Redis job store failed: %s", self.job_id, exc)
                if self._closed:
                    return
                continue
            outage_since = None
            position = 0
            for claim_keys, future in claims:
                part = result[position:position + len(claim_keys)]
                position += len(claim_keys)
                priors: list[Prior | None] = [_prior(raw) if raw else None for raw in part]
                for key, prior in zip(claim_keys, priors, strict=True):
                    if prior is not None and prior.state in _FINAL_STATES:
                        self._settled(key)
                if not future.done():
                    future.set_result(priors)

    async def _beat(self) -> None:
        key = self._keys.heartbeat(self.run_id)
        ttl = int(self._store.heartbeat_timeout * 1000)
        # Ends on the flag too: a cancellation that lands inside a Redis call may come back
        # as a connection error (then suppressed here), and the loop must still end.
        while not self._closed:
            # A missed beat is tried again next time; missing many only risks a takeover (the
            # recipients this worker holds then become UNKNOWN, never sent twice).
            with contextlib.suppress(StoreUnavailableError):
                await self._conn.call("renewing the heartbeat",
                                      lambda: self._conn.client.set(key, "1", px=ttl))
            await asyncio.sleep(self._store.heartbeat_timeout / 4)


async def _lookup(conn: RedisConnection, keys: JobKeys, wanted: Sequence[str]) -> dict[str, Prior]:
    if not wanted:
        return {}
    raw = await conn.call("reading recipients", lambda: conn.client.hmget(keys.records,
                                                                          list(wanted)))
    return {key: _prior(value) for key, value in zip(wanted, raw, strict=True)
            if value is not None}


def _prior(raw: bytes | str) -> Prior:
    rec = json.loads(raw)
    return Prior(state=rec["s"], reason=rec.get("r"), error=rec.get("e"),
                 provider=rec.get("p"), message_id=rec.get("m"), batch_id=rec.get("b"),
                 attempts=int(rec.get("a") or 0), run_id=rec.get("o"))


def _record(state: str, index: int, reason: str | None = None, error: str | None = None) -> str:
    rec: dict[str, Any] = {"s": state, "i": index, "a": 0}
    if reason is not None:
        rec["r"], rec["e"] = reason, error
    return json.dumps(rec, separators=(",", ":"))


def _outcome_fields(outcome: Outcome) -> dict[str, Any]:
    receipt = outcome.receipt
    return {"s": outcome.status.value, "r": outcome.reason, "e": outcome.error,
            "p": outcome.provider, "m": receipt.message_id if receipt is not None else None,
            "b": outcome.batch_id}


def _entries(reply: Any) -> list[tuple[str, list[Any]]]:
    out = []
    for _stream, messages in reply or ():
        for entry_id, fields in messages or ():
            if not fields:
                continue  # deleted meanwhile
            items = json.loads(fields.get(b"items") or fields.get("items") or "[]")
            out.append((_text(entry_id), items))
    return out


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)


def _job_info(job_id: str, meta: Mapping[str, str]) -> JobInfo:
    created = datetime.fromtimestamp(float(meta.get("created_at") or 0), UTC)
    updated = datetime.fromtimestamp(float(meta.get("updated_at") or 0), UTC)
    return JobInfo(
        job_id=job_id, provider=meta.get("provider") or None,
        spec=JobSpec.from_json(json.loads(meta["spec"])), status=meta.get("status") or "running",
        total=int(meta["total"]) if meta.get("total") else None,
        # The stream feeds any worker, whether or not the coordinator has finished.
        source_complete=True, duplicates=0, created_at=created, updated_at=updated,
        finished_at=None, settings=MappingProxyType(json.loads(meta.get("settings") or "{}")))


def new_run_id() -> str:
    return uuid.uuid4().hex
