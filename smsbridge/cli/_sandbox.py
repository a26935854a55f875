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
@click.option("--fault", "faults", multiple=True, metavar="SPEC", help=FAULT_HELP)
def sandbox(
    port: int,
    host: str,
    seed: int | None,
    delivery_delay: float,
    delivery_failure_ratio: float,
    textus_rate_limit: str | None,
    faults: tuple[str, ...],
) -> int:
    """Run the local TextUs + TrackDrive sandbox until Ctrl-C; prints URLs and credentials."""
    options: dict[str, Any] = {
        "host": host,
        "seed": seed,
        "textus_rate_limit": parse_rate_limit(textus_rate_limit),
        "delivery_delay": delivery_delay,
        "delivery_failure_ratio": delivery_failure_ratio,
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
    with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
        loop.add_signal_handler(signal.SIGTERM, stop.set)
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
    """URLs, credentials and ready-to-paste connection URLs of a running sandbox."""
    out.print("[bold]smsbridge sandbox[/] listening — press Ctrl-C to stop")
    out.print(f"  TextUs      {sb.textus_url}")
    out.print(f"              token {sb.textus_token}   account {sb.textus_account}")
    out.print(f"  TrackDrive  {sb.trackdrive_url}")
    out.print(
        f"              public key {sb.trackdrive_public_key}   private key "
        f"{sb.trackdrive_private_key}   subdomain {sb.trackdrive_subdomain}"
    )
    out.print("  Connection URLs (sandbox credentials, safe to share):")
    out.print(f"    export SMSBRIDGE_URL='{sb.textus_connection_url}'", markup=False)
    out.print(f"    export SMSBRIDGE_URL='{sb.trackdrive_connection_url}'", markup=False)
    from ..sandbox import TrackDriveSeed

    seed = TrackDriveSeed()
    out.print("  Then try:", markup=False)
    out.print("    smsbridge send --to +13035551234 --body 'Hello from the sandbox'", markup=False)
    out.print(f"    smsbridge call --lead-id {seed.lead_id}   (with the trackdrive URL)",
              markup=False)
    out.print(
        f"    smsbridge schedules list            (active schedule {seed.active_schedule_id})",
        markup=False,
    )
