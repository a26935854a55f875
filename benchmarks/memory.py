"""Benchmark 3: resident memory of a 1,000,000-recipient job streamed through the Dispatcher.

Each measurement runs in a fresh interpreter (``python -m benchmarks.memory --child ...``) so the
baseline is clean and nothing the parent allocated is counted. Two children run:

* ``dispatch``: recipients from an async generator through ``Dispatcher.stream`` into an
  in-process ``FakeProvider`` (no latency, not recording); RSS is sampled at each checkpoint.
* ``dedup``: only a ``set`` of the same numbers, kept as the dispatcher keeps them (the E.164
  digits as ints), sampled at the same checkpoints: what the job's de-duplication set costs on
  its own. The dispatcher's growth beyond that is the figure that must stay flat.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from .workload import BODY, CONCURRENCY, agen_numbers, number

MB = 1024 * 1024


def _status_kb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float:
    """Current resident set size (VmRSS); peak RSS where /proc is unavailable."""
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else peak_mb()


def peak_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak / 1024


async def _dispatch(recipients: int, checkpoints: Sequence[int]) -> dict[str, Any]:
    from smsbridge import Dispatcher
    from smsbridge.testing import FakeProvider

    # record=False: the fake would otherwise keep every accepted message for tests to inspect,
    # which is the fake's memory, not the job's.
    provider = FakeProvider(record=False)
    dispatcher = Dispatcher(provider, concurrency=CONCURRENCY, rate_limit=None)
    gc.collect()
    baseline = rss_mb()
    samples: list[dict[str, float]] = []
    wanted = set(checkpoints)
    count = 0
    started = time.perf_counter()
    async for _outcome in dispatcher.stream(agen_numbers(recipients), body=BODY):
        count += 1
        if count in wanted:
            samples.append({"recipients": count, "rss_mb": rss_mb()})
    elapsed = time.perf_counter() - started
    return {"baseline_mb": baseline, "samples": samples, "peak_mb": peak_mb(),
            "count": count, "seconds": elapsed}


def _dedup(recipients: int, checkpoints: Sequence[int]) -> dict[str, Any]:
    gc.collect()
    baseline = rss_mb()
    seen: set[int] = set()
    samples: list[dict[str, float]] = []
    wanted = set(checkpoints)
    for i in range(recipients):
        seen.add(int(number(i)[1:]))
        if i + 1 in wanted:
            samples.append({"recipients": i + 1, "rss_mb": rss_mb()})
    return {"baseline_mb": baseline, "samples": samples, "peak_mb": peak_mb(),
            "count": len(seen), "seconds": 0.0}


def _run_child(mode: str, recipients: int, checkpoints: Sequence[int]) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.memory", "--child", mode,
               "--recipients", str(recipients),
               "--checkpoints", ",".join(str(c) for c in checkpoints)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {mode!r} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def checkpoints_for(recipients: int) -> list[int]:
    """100k, 500k and 1M where the job reaches them, and always the end of the job."""
    return sorted({m for m in (100_000, 500_000, 1_000_000) if m < recipients} | {recipients})


def measure_memory(recipients: int) -> dict[str, Any]:
    marks = checkpoints_for(recipients)
    job = _run_child("dispatch", recipients, marks)
    dedup = _run_child("dedup", recipients, marks)
    dedup_growth = {s["recipients"]: s["rss_mb"] - dedup["baseline_mb"] for s in dedup["samples"]}
    rows = []
    for sample in job["samples"]:
        growth = sample["rss_mb"] - job["baseline_mb"]
        dedup_mb = dedup_growth.get(sample["recipients"], 0.0)
        rows.append({"recipients": int(sample["recipients"]), "rss_mb": sample["rss_mb"],
                     "growth_mb": growth, "dedup_mb": dedup_mb,
                     "beyond_dedup_mb": growth - dedup_mb})
    return {
        "recipients": recipients,
        "baseline_mb": job["baseline_mb"],
        "peak_mb": job["peak_mb"],
        "rate": job["count"] / job["seconds"] if job["seconds"] else 0.0,
        "checkpoints": rows,
        "final_rss_mb": rows[-1]["rss_mb"] if rows else job["baseline_mb"],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="memory benchmark child process")
    parser.add_argument("--child", choices=("dispatch", "dedup"), required=True)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", default="100000,500000,1000000")
    args = parser.parse_args(argv)
    marks = [int(c) for c in args.checkpoints.split(",") if c]
    if args.child == "dispatch":
        result = asyncio.run(_dispatch(args.recipients, marks))
    else:
        result = _dedup(args.recipients, marks)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
