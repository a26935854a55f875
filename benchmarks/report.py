"""Presentation only: the result tables, the target check, and the JSON file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs


@attrs.frozen
class Target:
    """A figure and the bar it must clear (``>=``) or stay under (``<``, ``<=``)."""

    name: str
    value: float | None
    bar: float
    op: str = ">="
    unit: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        if self.op == "<=":
            return self.value <= self.bar
        return self.value >= self.bar if self.op == ">=" else self.value < self.bar

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "target": f"{self.op} {self.bar:g}",
                "unit": self.unit, "met": self.met}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows)
               for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(results: Mapping[str, Any]) -> str:
    """The whole human-readable report."""
    parts: list[str] = []
    meta = results.get("meta", {})
    parts.append(
        f"smsbridge benchmarks — {meta.get('command', '')}\n"
        f"cores={meta.get('nproc')}  load before={meta.get('load_before')}  "
        f"after={meta.get('load_after')}  python={meta.get('python')}  "
        f"aiohttp={meta.get('aiohttp')}"
    )
    server = results.get("server")
    if server:
        parts.append("Server capacity (trivial raw-socket client; best of samples before and "
                     "after)\n" + table(
            ["endpoint", "capacity msg/s", "samples", "server busy", "max client msg/s",
             "headroom x", "ok (>= 3x)", "server busy in runs"],
            [[e, c["capacity"], " ".join(str(v) for v in c["samples"]), c["server_busy"],
              c["max_client_rate"], c["headroom"], c["ok"], c["max_server_busy_in_runs"]]
             for e, c in server["endpoints"].items()],
        ))
    rows = results.get("throughput")
    if rows:
        parts.append("1-2. Throughput, concurrency "
                     f"{results.get('config', {}).get('concurrency')} (msg/s: median of rounds; "
                     "x raw: median of per-round ratios; CPU: least per message of any round)\n"
                     + table(
            ["endpoint", "client", "msg/s", "x raw", "ok", "CPU us/msg", "x raw (CPU)",
             "client cpu", "server busy"],
            [[r["endpoint"], r["client"], r["rate"], r["ratio_to_raw"],
              f"{r['ok']}/{r['messages']}", r["cpu_us_per_message"], r["cpu_ratio_to_raw"],
              r["client_cpu_share"], r["server_busy"]]
             for r in rows],
        ))
    memory = results.get("memory")
    if memory:
        parts.append("3. Memory (fresh process, FakeProvider, async generator)\n" + table(
            ["recipients", "RSS MB", "growth MB", "de-dup set MB", "growth beyond de-dup MB"],
            [[c["recipients"], c["rss_mb"], c["growth_mb"], c["dedup_mb"], c["beyond_dedup_mb"]]
             for c in memory["checkpoints"]],
        ) + f"\nbaseline {memory['baseline_mb']:.1f} MB, peak {memory['peak_mb']:.1f} MB, "
            f"{memory['rate']:,.0f} recipients/s")
    overhead = results.get("overhead")
    if overhead:
        for section in overhead["sections"]:
            parts.append(f"4. Overhead: {section['title']}\n" + table(
                ["part", "us/msg", "share %"],
                [[p["part"], p["us"], p["share"] * 100] for p in section["parts"]
                 if p["us"] >= 0.05],
            ) + f"\ntotal {section['total_us']:.1f} us/msg CPU ({section['messages']:,} msgs)")
        parts.append("4. Overhead: single steps, each timed alone\n" + table(
            ["step", "us"], [[m["operation"], m["us"]] for m in overhead["micro"]]))
    rate = results.get("ratelimit")
    if rate:
        parts.append("5. Rate-limit use against the sandbox\n" + table(
            ["allowed/s", "achieved/s", "steady/s", "use", "429s", "accepted", "seconds"],
            [[rate["allowed"], rate["achieved"], rate["steady"], rate["use"], rate["429s"],
              rate["accepted"], rate["seconds"]]],
        ))
    shared = results.get("redis")
    if shared:
        from .redis_limiter import render as render_acquires
        from .redis_limiter import render_dispatcher

        parts.append("6. Redis limiter: acquires (round trips counted on the Redis server)\n"
                     + render_acquires(shared["acquire"]))
        parts.append("6. Redis limiter: dispatcher throughput, limit never binding (msg/s: "
                     "median of rounds; ratio: median of per-round ratios)\n"
                     + render_dispatcher(shared["dispatcher"]))
    targets = results.get("targets")
    if targets:
        parts.append("Targets\n" + table(
            ["target", "value", "bar", "met"],
            [[t["name"], t["value"], t["target"], t["met"]] for t in targets],
        ))
    if results.get("refused"):
        parts.append(f"REFUSED: {results['refused']}")
    return "\n\n".join(parts)


def write_json(path: str | os.PathLike[str], results: Mapping[str, Any]) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return target
