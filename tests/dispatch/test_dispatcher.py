"""Dispatcher: exactly one outcome per recipient, and what each outcome means."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable

import pytest

from smsbridge import (
    Attachment,
    AttachmentError,
    ConfigurationError,
    Dispatcher,
    InvalidMessage,
    Message,
    OutcomeStatus,
    Recipient,
    RetryPolicy,
    TemplateError,
)
from smsbridge.models import Receipt
from smsbridge.protocol import Capabilities
from smsbridge.testing import FakeProvider, Fault

NO_WAIT = RetryPolicy(max_retries=3, initial_backoff=0.0, max_backoff=0.0)


async def test_ten_thousand_recipients_with_mixed_faults_get_exactly_one_outcome_each(
    numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(seed=42, retry_after=0.0, faults={
        "reject": 0.03, "rate_limit": 0.03, "connect_error": 0.03, "server_error": 0.01,
        "timeout": 0.01, "accepted_then_timeout": 0.02, "latency": 0.02,
    })
    recipients = numbers(10_000)
    dispatcher = Dispatcher(fake, concurrency=64, retry=NO_WAIT)

    report = await dispatcher.send(Message(to=recipients, body="Hi"))

    assert [o.phone for o in report.outcomes] == recipients  # input order, one each
    assert report.total == 10_000 and sum(report.counts.values()) == 10_000
    accepted = fake.accepted_numbers()
    assert max(accepted.values()) == 1  # nobody texted twice
    sent = {o.phone for o in report.by_status("sent")}
    unknown = {o.phone for o in report.by_status("unknown")}
    assert sent <= set(accepted)
    assert set(accepted) - sent <= unknown  # every other accepted one is reported UNKNOWN
    assert fake.accepted_count() == report.sent + len(unknown & set(accepted))
    assert report.sent > 9_000 and report.unknown > 0 and report.failed > 0
    assert fake.injected["accepted_then_timeout"] == len(unknown & set(accepted))
    # An UNKNOWN attempt is the last one: no call for that number ever follows it.
    assert all(fake.calls_per_number[o.phone] == o.attempts for o in report.by_status("unknown"))
    assert all(fake.calls_per_number[o.phone] == o.attempts for o in report)


async def test_a_send_that_may_have_gone_out_is_unknown_and_never_retried() -> None:
    fake = FakeProvider(per_number={"+13035550100": ["accepted_then_timeout", None]})
    report = await Dispatcher(fake, retry=NO_WAIT).send(
        Message(to=["+13035550100"], body="Hi"))

    [outcome] = report.outcomes
    assert outcome.status is OutcomeStatus.UNKNOWN
    assert outcome.reason == "delivery_unknown" and outcome.attempts == 1
    assert "unknown" in (outcome.error or "")
    assert fake.calls == 1 and fake.accepted_count("+13035550100") == 1


async def test_errors_that_surely_did_not_send_are_retried_by_the_dispatcher() -> None:
    fake = FakeProvider(retry_after=0.01,
                        per_number={"+13035550100": ["connect_error", "rate_limit", None]})
    fake_retry = RetryPolicy(max_retries=3, initial_backoff=0.0, max_retry_after=5.0)
    report = await Dispatcher(fake, retry=fake_retry).send(
        Message(to=["+13035550100"], body="Hi"))

    [outcome] = report.outcomes
    assert outcome.status is OutcomeStatus.SENT and outcome.attempts == 3
    assert outcome.receipt is not None and outcome.receipt.message_id == "fake-1"


async def test_a_rejected_message_fails_at_once_with_the_reason() -> None:
    fake = FakeProvider(per_number={"+13035550100": [Fault("reject", status=422)],
                                    "+13035550101": [Fault("reject", status=401)]})
    report = await Dispatcher(fake, retry=NO_WAIT).send(
        Message(to=["+13035550100", "+13035550101"], body="Hi"))

    assert [o.status for o in report] == [OutcomeStatus.FAILED] * 2
    assert [o.reason for o in report] == ["rejected", "auth"]
    assert report.outcomes[0].exception is not None and fake.calls == 2


async def test_retries_exhausted_on_a_not_sent_error_fail_the_recipient() -> None:
    fake = FakeProvider(per_number={"+13035550100": ["connect_error"] * 5})
    report = await Dispatcher(fake, retry=RetryPolicy(max_retries=2, initial_backoff=0.0)).send(
        Message(to=["+13035550100"], body="Hi"))

    [outcome] = report.outcomes
    assert outcome.status is OutcomeStatus.FAILED and outcome.reason == "connect_error"
    assert outcome.attempts == 3 and fake.accepted_count() == 0


async def test_invalid_and_duplicate_numbers_are_skipped_with_their_reasons() -> None:
    fake = FakeProvider()
    to = ["+13035551234", "(303) 555-1234", "not a number", "+1303555", "+17205550000"]
    report = await Dispatcher(fake, default_region="US").send(Message(to=to, body="Hi"))

    statuses = [(o.status.value, o.reason) for o in report]
    assert statuses == [
        ("sent", None), ("skipped", "duplicate"), ("skipped", "invalid_number"),
        ("skipped", "invalid_number"), ("sent", None)]
    assert report.outcomes[1].phone == "+13035551234"  # normalised before de-dup
    assert "not a number" not in (report.outcomes[2].error or "")  # masked in errors
    assert sorted(fake.accepted_numbers()) == ["+13035551234", "+17205550000"]


async def test_a_missing_variable_fails_only_that_recipient() -> None:
    fake = FakeProvider()
    to = [Recipient("+13035550100", {"name": "Ann"}), Recipient("+13035550101"),
          Recipient("+13035550102", {"name": "Bo"})]
    report = await Dispatcher(fake).send(Message(to=to, body="Hi {name}, {{ok}}"))

    assert [o.status.value for o in report] == ["sent", "failed", "sent"]
    failed = report.outcomes[1]
    assert failed.reason == "missing_variable"
    assert "{name}" in (failed.error or "") and "Recipient.variables" in (failed.error or "")
    assert [a.body for a in fake.accepted] == ["Hi Ann, {ok}", "Hi Bo, {ok}"]


async def test_a_format_spec_fails_the_job_before_any_send() -> None:
    fake = FakeProvider()
    to = [Recipient("+13035550100", {"n": "x"}), Recipient("+13035550101", {"n": 5})]
    with pytest.raises(TemplateError, match="format spec"):
        await Dispatcher(fake).send(Message(to=to, body="{n:d} left"))
    assert fake.calls == 0


async def test_a_malformed_template_fails_the_job_before_any_send() -> None:
    fake = FakeProvider()
    with pytest.raises(InvalidMessage, match="not valid"):
        await Dispatcher(fake).send(Message(to=["+13035550100"], body="Hi {name"))
    with pytest.raises(InvalidMessage, match="positional"):
        await Dispatcher(fake).send(Message(to=["+13035550100"], body="Hi {}"))
    assert fake.calls == 0


async def test_a_body_longer_than_the_provider_allows_fails_that_recipient() -> None:
    fake = FakeProvider(capabilities=Capabilities(max_body_length=10))
    to = [Recipient("+13035550100", {"n": "Al"}), Recipient("+13035550101", {"n": "A" * 20})]
    report = await Dispatcher(fake).send(Message(to=to, body="Hi {n}"))

    assert [(o.status.value, o.reason) for o in report] == [
        ("sent", None), ("failed", "body_too_long")]


async def test_attachments_the_provider_cannot_take_fail_the_job_up_front() -> None:
    fake = FakeProvider(capabilities=Capabilities(attachments=False))
    message = Message(to=["+13035550100"], body="Hi",
                      attachments=[Attachment("https://x/y.png", "image/png")])
    with pytest.raises(AttachmentError):
        await Dispatcher(fake).send(message)
    assert fake.calls == 0


async def test_suppressed_numbers_are_skipped_as_opted_out() -> None:
    fake = FakeProvider()
    report = await Dispatcher(fake, suppression={"+13035550101"}).send(
        Message(to=["+13035550100", "+1 303 555 0101"], body="Hi"))

    assert [(o.status.value, o.reason) for o in report] == [
        ("sent", None), ("skipped", "opted_out")]
    assert list(fake.accepted_numbers()) == ["+13035550100"]


async def test_dry_run_sends_nothing_and_reports_what_would_be_sent() -> None:
    fake = FakeProvider()
    to = [Recipient("+13035550100", {"name": "Ann"}), "+13035550100", "nope",
          Recipient("+13035550101")]
    report = await Dispatcher(fake, dry_run=True).send(
        Message(to=to, body="Hi {name}", sender="+17205550000"))

    assert fake.calls == 0 and report.dry_run
    assert [(o.status.value, o.reason) for o in report] == [
        ("skipped", "dry_run"), ("skipped", "duplicate"), ("skipped", "invalid_number"),
        ("failed", "missing_variable")]
    preview = report.outcomes[0].message
    assert preview is not None and preview.body == "Hi Ann" and preview.sender == "+17205550000"
    assert report.would_send == 1 and report.sent == 0


async def test_an_unexpected_provider_exception_makes_the_recipient_unknown() -> None:
    class Broken(FakeProvider):
        async def send(self, message: Message) -> Receipt:
            raise KeyError("bug in a third-party adapter")

    report = await Dispatcher(Broken()).send(Message(to=["+13035550100"], body="Hi"))
    [outcome] = report.outcomes
    assert outcome.status is OutcomeStatus.UNKNOWN and outcome.reason == "unexpected_error"


async def test_progress_is_reported_with_counts_rate_and_eta(
    numbers: Callable[..., list[str]],
) -> None:
    seen = []
    fake = FakeProvider(latency=0.002, per_number={numbers(1)[0]: ["reject"]})
    report = await Dispatcher(fake, concurrency=8, on_progress=seen.append,
                              progress_interval=0.01).send(
        Message(to=[*numbers(200), "bad"], body="Hi"))

    assert len(seen) >= 3  # throttled, but called during the job and at the end
    last = seen[-1]
    assert (last.total, last.done, last.sent, last.failed, last.skipped) == (201, 201, 199, 1, 1)
    assert last.rate > 0 and last.eta == 0 and last.fraction == 1.0
    assert all(a.done <= b.done for a, b in itertools.pairwise(seen))
    assert report.rate > 0 and "sent 199" in report.summary()


async def test_a_progress_callback_that_raises_does_not_stop_the_job() -> None:
    def broken(_progress: object) -> None:
        raise RuntimeError("progress bar bug")

    report = await Dispatcher(FakeProvider(), on_progress=broken, progress_interval=0).send(
        Message(to=["+13035550100", "+13035550101"], body="Hi"))
    assert report.sent == 2


def test_bad_dispatcher_settings_are_rejected_with_clear_errors() -> None:
    fake = FakeProvider()
    with pytest.raises(ConfigurationError, match="concurrency"):
        Dispatcher(fake, concurrency=0)
    with pytest.raises(ConfigurationError, match="rate_limit"):
        Dispatcher(fake, rate_limit="fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="positive"):
        Dispatcher(fake, rate_limit=-1)
    with pytest.raises(ConfigurationError, match="MessagingProvider"):
        Dispatcher(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="batch_size"):
        Dispatcher(fake, batch_size=0)
    with pytest.raises(ConfigurationError, match="limit of 1000"):
        Dispatcher(fake, batch_size=5000)


async def test_outcomes_record_attempts_and_the_provider_name(
    numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(name="acme")
    report = await Dispatcher(fake).send(Message(to=numbers(3), body="Hi"))
    assert Counter((o.provider, o.attempts) for o in report) == {("acme", 1): 3}
