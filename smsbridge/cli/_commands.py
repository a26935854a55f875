"""One-shot commands: ``send``, ``call`` (TrackDrive call-now) and ``schedules list``."""

from __future__ import annotations

import re
from typing import Any

import click
from rich.table import Table

from ..errors import ConfigurationError, SmsBridgeError
from ..limits.shared import redis_suppression_list
from ..models import Attachment, Message
from ..phone import mask, set_default_region
from ..protocol import MessagingProvider
from ..providers.trackdrive import TrackDriveProvider
from ..providers.trackdrive.models import Call, Schedule
from ._common import (
    open_provider,
    parse_key_values,
    redis_option,
    region_callback,
    run,
    share_rate_limit,
    url_option,
)
from ._errors import EXIT_OK, Reworded, redactor
from ._render import make_consoles


@click.command()
@click.option("--to", "to", required=True, metavar="PHONE", help="Recipient, e.g. +13035551234.")
@click.option("--body", required=True, help="Message text.")
@click.option("--from", "sender", metavar="PHONE", help="Sender number (provider-specific).")
@click.option("--media-url", metavar="URL", help="Attachment URL (MMS).")
@click.option("--media-type", metavar="TYPE", help="Attachment type, e.g. image/png.")
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Provider option, repeatable (e.g. lead_id=11000635, saved_reply=/saved_replies/x).",
)
@click.option("--region", metavar="CC", callback=region_callback,
              help="Region for numbers without a country code (US).")
@url_option
@redis_option
def send(
    to: str,
    body: str,
    sender: str | None,
    media_url: str | None,
    media_type: str | None,
    options: tuple[str, ...],
    region: str | None,
    url: str | None,
    redis: str | None,
) -> int:
    """Send one SMS and print the provider's receipt."""
    if not body.strip() and not media_url and not options:
        raise click.BadParameter("the message body is empty", param_hint="--body")
    if bool(media_url) != bool(media_type):
        raise click.UsageError("--media-url and --media-type go together")
    if region:
        set_default_region(region)
    attachments = (
        [Attachment(url=media_url, content_type=media_type)] if media_url and media_type else []
    )
    message = Message(
        to=to,
        body=body,
        sender=sender,
        attachments=attachments,
        options=parse_key_values(options, "--option"),
    )
    out, err = make_consoles()
    provider = open_provider(url)
    if redis:
        err.print(share_rate_limit(provider, redis, None), markup=False)
    receipt = run(_send(provider, message, redis))
    details = [
        f"to {mask(receipt.to)}",
        f"message id {receipt.message_id}" if receipt.message_id else "no message id",
        f"status {receipt.raw_status or receipt.status.value}",
    ]
    if receipt.request_id:
        details.append(f"request id {receipt.request_id}")
    out.print(f"[green]sent[/] via {receipt.provider}: " + ", ".join(details))
    return EXIT_OK


async def _send(provider: MessagingProvider, message: Message, redis: str | None) -> Any:
    async with provider:
        if redis:
            # The opt-out list every receiver writes: a number on it is not texted, and a list
            # that cannot be asked stops the send (StoreUnavailableError), never "not opted out".
            suppression = redis_suppression_list(redis)
            try:
                if await suppression.is_suppressed(message.recipient.phone):
                    raise OptedOutError(
                        f"{mask(message.recipient.phone)} opted out (it is on the shared "
                        f"opt-out list at {suppression.url}); nothing was sent")
            finally:
                await suppression.aclose()
        return await provider.send(message)


class OptedOutError(SmsBridgeError):
    """The recipient is on the shared opt-out list: the CLI sends nothing (exit 1)."""


def _trackdrive(provider: MessagingProvider, what: str) -> TrackDriveProvider:
    if not isinstance(provider, TrackDriveProvider):
        raise ConfigurationError(
            f"{what} is a TrackDrive feature but the connection URL is for {provider.name!r}; "
            "use trackdrive://PUBLIC_KEY:PRIVATE_KEY@SUBDOMAIN"
        )
    return provider


@click.command()
@click.option("--lead-id", metavar="ID", help="Dial this existing lead (recommended).")
@click.option("--schedule-id", metavar="ID", help="Schedule to dial from (with --to).")
@click.option("--lead-token", metavar="TOKEN", help="Schedule's leads API key (with --to).")
@click.option("--to", metavar="PHONE", help="Number to dial (with --schedule-id/--lead-token).")
@click.option(
    "--data", "data", multiple=True, metavar="KEY=VALUE", help="Lead data, repeatable."
)
@click.option("--traffic-source-id", metavar="ID", help="Traffic source, for lead distribution.")
@url_option
def call(
    lead_id: str | None,
    schedule_id: str | None,
    lead_token: str | None,
    to: str | None,
    data: tuple[str, ...],
    traffic_source_id: str | None,
    url: str | None,
) -> int:
    """Place a TrackDrive call now (schedules/make_call). Never retried automatically."""
    redactor.add(lead_token)
    # which combinations are valid is checked once, by make_call itself (exit 2 when wrong)
    params: dict[str, Any] = {
        "lead_id": lead_id,
        "schedule_id": schedule_id,
        "lead_token": lead_token,
        "to": to,
        "traffic_source_id": traffic_source_id,
    }
    if data:
        params["data"] = parse_key_values(data, "--data")
    params = {k: v for k, v in params.items() if v is not None}
    try:
        placed = run(_call(open_provider(url), params))
    except SmsBridgeError as exc:
        raise Reworded(exc, in_flag_names(str(exc))) from exc
    out, _ = make_consoles()
    parts = [f"call {placed.id}", f"status {placed.status}"]
    number = placed.number_called or to
    if number:
        parts.append(f"dialing {mask(number)}")
    if placed.schedule_id is not None:
        parts.append(f"schedule id {placed.schedule_id}")
    if placed.lead_id is not None:
        parts.append(f"lead id {placed.lead_id}")
    out.print("[green]call placed[/] via trackdrive: " + ", ".join(parts))
    return EXIT_OK


# make_call writes its parameters as ``name=``; the call command's user knows them as flags.
_CALL_FLAGS = {"lead_id": "--lead-id", "lead_token": "--lead-token",
               "schedule_id": "--schedule-id", "to": "--to", "data": "--data",
               "traffic_source_id": "--traffic-source-id"}
_PARAMETER = re.compile(r"\b(" + "|".join(_CALL_FLAGS) + r")=")


def in_flag_names(text: str) -> str:
    """``make_call needs ... lead_id= ...`` as ``call needs ... --lead-id ...``."""
    return _PARAMETER.sub(lambda m: _CALL_FLAGS[m.group(1)], text).replace("make_call", "call")


async def _call(provider: MessagingProvider, params: dict[str, Any]) -> Call:
    async with provider:
        return await _trackdrive(provider, "call-now").schedules.make_call(**params)


@click.group()
def schedules() -> None:
    """TrackDrive schedules."""


@schedules.command("list")
@click.option("--order", metavar="FIELD", help="Sort field, e.g. created_at, name, paused.")
@click.option("--order-dir", type=click.Choice(["asc", "desc"]), help="Sort direction.")
@click.option("--fulltext", metavar="TEXT", help="Full-text filter.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Stop after N schedules.")
@url_option
def list_schedules(
    order: str | None,
    order_dir: str | None,
    fulltext: str | None,
    limit: int | None,
    url: str | None,
) -> int:
    """List schedules (all pages, or the first --limit)."""
    filters = {"order": order, "order_dir": order_dir, "fulltext": fulltext}
    rows = run(_list_schedules(open_provider(url), {k: v for k, v in filters.items() if v}, limit))
    out, _ = make_consoles()
    table = Table(title=f"{len(rows)} schedule(s)", title_justify="left", header_style="bold")
    for column in ("id", "name", "type", "paused", "offer", "created"):
        table.add_column(column)
    for schedule in rows:
        created = schedule.created_at
        table.add_row(
            str(schedule.id or ""),
            schedule.name or "",
            schedule.schedule_type or "",
            "yes" if schedule.paused else "no",
            str(schedule.offer_id or ""),
            f"{created:%Y-%m-%d %H:%M}" if created else "",
        )
    out.print(table)
    return EXIT_OK


async def _list_schedules(
    provider: MessagingProvider, filters: dict[str, Any], limit: int | None
) -> list[Schedule]:
    async with provider:
        pager = _trackdrive(provider, "schedules list").schedules.list(**filters)
        return await pager.to_list(limit)
