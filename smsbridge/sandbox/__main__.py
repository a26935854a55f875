"""``python -m smsbridge.sandbox --port 8900``: run the sandbox until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from ..errors import ConfigurationError
from .faults import FAULT_KINDS, Fault
from .server import Sandbox


def _rate_limit(value: str) -> tuple[int, float]:
    requests, _, window = value.partition("/")
    try:
        return int(requests), float(window or "1")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r}: write REQUESTS/WINDOW_SECONDS, e.g. 1000/300"
        ) from None


def _fault(value: str) -> Fault:
    try:
        return Fault.parse(value)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m smsbridge.sandbox",
        description="A local TextUs + TrackDrive emulator for smsbridge (loopback only).",
    )
    parser.add_argument("--port", type=int, default=8900, help="port (0 = any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--seed", default=None, help="seed for ids, delivery outcomes, faults")
    parser.add_argument("--textus-rate-limit", type=_rate_limit, default=None,
                        metavar="N/SECONDS", help="TextUs per-token limit, e.g. 1000/300 (off)")
    parser.add_argument("--delivery-delay", type=float, default=0.2,
                        help="seconds until an accepted message is delivered or failed")
    parser.add_argument("--delivery-failure-ratio", type=float, default=0.0,
                        help="share of messages that end failed (0..1)")
    parser.add_argument("--cps-limit", type=int, default=10, help="TrackDrive calls per second")
    parser.add_argument("--fault", type=_fault, action="append", default=[],
                        metavar="ROUTE:KIND[:RATIO[:DELAY]]",
                        help=f"inject a fault (repeatable); kinds: {', '.join(FAULT_KINDS)}")
    return parser.parse_args(argv)


def banner(sb: Sandbox) -> str:
    seed = sb.trackdrive.seed
    return "\n".join([
        f"smsbridge sandbox listening on {sb.base_url}",
        f"  TextUs      {sb.textus_url}",
        f"              token {sb.textus_token}  account {sb.textus_account}",
        f"              {sb.textus_connection_url}",
        f"  TrackDrive  {sb.trackdrive_url}",
        f"              keys {sb.trackdrive_public_key}:{sb.trackdrive_private_key}"
        f"  subdomain {sb.trackdrive_subdomain}",
        f"              {sb.trackdrive_connection_url}",
        f"  seed data   schedules {seed.active_schedule_id} (active), "
        f"{seed.paused_schedule_id} (paused), {seed.router_schedule_id} (router); "
        f"lead {seed.lead_id}; DNC {seed.dnc_number}",
        "Press Ctrl-C to stop.",
    ])


async def serve(args: argparse.Namespace) -> None:
    sandbox = Sandbox(
        args.port, host=args.host, seed=args.seed, textus_rate_limit=args.textus_rate_limit,
        delivery_delay=args.delivery_delay, delivery_failure_ratio=args.delivery_failure_ratio,
        trackdrive_cps_limit=args.cps_limit, faults=args.fault,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with sandbox as sb:
        print(banner(sb), flush=True)
        await stop.wait()
    print("sandbox stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
