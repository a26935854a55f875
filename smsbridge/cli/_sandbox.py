"""``smsbridge sandbox``: run the local TextUs + TrackDrive emulator until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from ..errors import ConfigurationError
from ._common import quiet_server_logs, run
from ._errors import EXIT_OK
from ._render import make_consoles

if TYPE_CHECKING:
    from ..sandbox import Sandbox

FAULT_HELP = (
    "Inject a fault, repeatable: ROUTE:KIND[:RATIO[:DELAY]], e.g. "
    "textus.send:error_5xx_after:0.05. "
    "Routes: textus.send, trackdrive.text_messages, trackdrive.make_call, *. Kinds: latency, "
    "error_5xx_before, error_5xx_after, rate_limit_429, reset_before_read, reset_after_store, hang."
)


def parse_rate_limit(text: str | None) -> tuple[int, float] | None:
    if not text:
        return None
    requests, _, window = text.partition("/")
    try:
        parsed = int(requests), float(window or "1")
    except ValueError:
        parsed = (0, 0.0)
    if parsed[0] <= 0 or parsed[1] <= 0:
        raise click.BadParameter(
            f"expected REQUESTS/SECONDS like 100/10, got {text!r}", param_hint="--textus-rate-limit"
        )
    return parsed


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8900, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--seed", type=int, help="Seed for reproducible ids, faults and delivery results.")
@click.option(
    "--delivery-delay", type=click.FloatRange(min=0), default=0.2, show_default=True,
    help="Seconds before an accepted message is delivered (or fails).",
)
@click.option(
    "--delivery-failure-ratio", type=click.FloatRange(0, 1), default=0.0, show_default=True,
    help="Share of accepted messages that end as failed.",
)
@click.option(
    "--textus-rate-limit", metavar="N/SECONDS", help="TextUs rate limit, e.g. 100/10 (default off)."
)
@click.option(
    "--cps-limit", type=click.IntRange(min=1), default=10, show_default=True,
    help="TrackDrive calls per second (make_call).",
)
@click.option("--fault", "faults", multiple=True, metavar="SPEC", help=FAULT_HELP)
def sandbox(
    port: int,
    host: str,
    seed: int | None,
    delivery_delay: float,
    delivery_failure_ratio: float,
    textus_rate_limit: str | None,
    cps_limit: int,
    faults: tuple[str, ...],
) -> int:
    """Run the local TextUs + TrackDrive sandbox until Ctrl-C; prints URLs and credentials."""
    options: dict[str, Any] = {
        "host": host,
        "seed": seed,
        "textus_rate_limit": parse_rate_limit(textus_rate_limit),
        "delivery_delay": delivery_delay,
        "delivery_failure_ratio": delivery_failure_ratio,
        "trackdrive_cps_limit": cps_limit,
        "faults": list(faults),  # parsed by the Sandbox: a bad spec exits 2 before it starts
    }
    quiet_server_logs()
    out, err = make_consoles()
    with contextlib.suppress(KeyboardInterrupt):
        run(_serve(port, options, out))
    err.print("sandbox stopped")
    return EXIT_OK


async def _serve(port: int, options: dict[str, Any], out: Console) -> None:
    from ..sandbox import Sandbox  # imported on use: aiohttp.web is heavy for other commands

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a clean stop, even as a background job
        with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
            loop.add_signal_handler(sig, stop.set)
    sb = Sandbox(port, **options)
    try:
        await sb.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} is already in use; pick another with --port (0 = any free port)"
            ) from None
        raise
    try:
        print_sandbox_info(out, sb)
        await stop.wait()
    finally:
        await sb.stop()


def print_sandbox_info(out: Console, sb: Sandbox) -> None:
    """The sandbox's banner (URLs, credentials, seed data) and commands to try against it."""
    from ..sandbox.__main__ import banner

    seed = sb.trackdrive.seed
    out.print(banner(sb), markup=False)
    out.print("Sandbox credentials are not secrets. Then try, in another terminal:", markup=False)
    for line in (
        f"  export SMSBRIDGE_URL='{sb.textus_connection_url}'",
        "  smsbridge send --to +13035551234 --body 'Hello from the sandbox'",
        "  smsbridge bulk people.csv --body 'Hi {name}' --journal job.sqlite --rate 200",
        f"  export SMSBRIDGE_URL='{sb.trackdrive_connection_url}'",
        f"  smsbridge call --lead-id {seed.lead_id}",
        "  smsbridge schedules list",
    ):
        out.print(line, markup=False)
