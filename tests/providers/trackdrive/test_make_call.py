"""POST /schedules/make_call: identification rules, the Call model, and every guard's error."""

from __future__ import annotations

from typing import Any

import pytest

from smsbridge import _constants as C
from smsbridge.errors import (
    DeliveryUnknownError,
    InvalidMessage,
    InvalidPhoneNumber,
    NotFoundError,
    RateLimitError,
    UnprocessableError,
    ValidationError,
)
from smsbridge.providers.trackdrive import (
    Call,
    CallGuardError,
    ContactSuppressedError,
    CpsLimitError,
    DuplicateLeadError,
    InvalidNumberError,
    NoMatchingDistributionError,
    RecentlyDialedError,
    ScheduleUnavailableError,
    TrackDriveProvider,
    UnknownLeadError,
)

TO = "+16053334444"
LEAD = "e36e2da0-5b2c-4f6e-9d1a-1c2d3e4f5a6b"
CALL = {
    "id": 501, "uuid": "c0ffee00-1111", "status": "initiated", "caller_number": "+18554550000",
    "number_called": TO, "schedule_id": 192840, "lead_id": LEAD, "offer_id": 7,
    "created_at": "2024-04-23T05:16:00.000-04:00", "buyer_converted": "false",
    "some_future_field": {"x": 1},
}


@pytest.fixture
def url(kit: Any) -> str:
    return f"{kit.BASE}/schedules/make_call"


async def test_make_call_by_lead_id_posts_only_the_lead_id(
    td: TrackDriveProvider, mocked: Any, url: str, kit: Any
) -> None:
    mocked.post(url, payload=kit.envelope("call", CALL))
    call = await td.schedules.make_call(lead_id=LEAD)
    request = kit.only_call(mocked, "POST", url)
    assert request.kwargs["headers"]["Authorization"] == kit.BASIC
    assert kit.json_sent(request) == {"lead_id": LEAD}
    assert isinstance(call, Call)
    assert call.id == 501 and call.uuid == "c0ffee00-1111" and call.status == "initiated"
    assert call.number_called == TO and call.lead_id == LEAD and call.schedule_id == 192840
    assert call.buyer_converted is False
    assert call.created_at is not None and call.created_at.utcoffset() is not None
    assert call.raw["some_future_field"] == {"x": 1}
    assert TO not in repr(call)


async def test_make_call_by_schedule_id_sends_ids_as_strings_with_to_and_data(
    td: TrackDriveProvider, mocked: Any, url: str, kit: Any
) -> None:
    mocked.post(url, payload=kit.envelope("call", CALL))
    await td.schedules.make_call(
        schedule_id=123, to="605-333-4444", data={"loan_amount": "500"}, traffic_source_id=9
    )
    assert kit.json_sent(kit.only_call(mocked, "POST", url)) == {
        "schedule_id": "123", "to": TO, "data": {"loan_amount": "500"}, "traffic_source_id": 9,
    }


async def test_make_call_by_lead_token_sends_the_token_and_to(
    td: TrackDriveProvider, mocked: Any, url: str, kit: Any
) -> None:
    mocked.post(url, payload=kit.envelope("call", CALL))
    await td.schedules.make_call(lead_token="abc123", to=TO)
    assert kit.json_sent(kit.only_call(mocked, "POST", url)) == {"lead_token": "abc123", "to": TO}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, InvalidMessage),
        ({"lead_id": LEAD, "to": TO}, InvalidMessage),
        ({"lead_id": LEAD, "schedule_id": 1}, InvalidMessage),
        ({"lead_id": LEAD, "lead_token": "t"}, InvalidMessage),
        ({"lead_token": "t", "schedule_id": 1, "to": TO}, InvalidMessage),
        ({"schedule_id": 1}, InvalidMessage),  # to is required
        ({"lead_token": "t"}, InvalidMessage),
        ({"lead_token": "", "to": TO}, InvalidMessage),
        ({"to": TO}, InvalidMessage),
        ({"schedule_id": 1, "to": "+1303555"}, InvalidPhoneNumber),
        ({"lead_id": LEAD, "data": ["not", "a", "hash"]}, ValidationError),
        ({"lead_id": ""}, ValidationError),
    ],
)
async def test_wrong_identification_is_rejected_before_any_request(
    td: TrackDriveProvider, mocked: Any, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await td.schedules.make_call(**kwargs)
    assert not mocked.requests


GUARDS = [
    (422, {"schedule": ["is not active"]}, ScheduleUnavailableError),
    (422, {"schedule": ["could not be found"]}, ScheduleUnavailableError),
    (422, {"base": ["CPS limit exceeded, try again shortly"]}, CpsLimitError),
    (422, {"to": ["is suppressed (DNC)"]}, ContactSuppressedError),
    (422, {"to": ["was dialed within the last 30 seconds"]}, RecentlyDialedError),
    (422, {"to": ["is not a valid phone number"]}, InvalidNumberError),
    (422, {"base": ["no matching lead distribution"]}, NoMatchingDistributionError),
    (404, {"lead_id": ["not found"]}, UnknownLeadError),
    (422, {"base": ["duplicate concurrent lead"]}, DuplicateLeadError),
    # Tolerant of other wordings and of an HTTP 200 carrying the errors.
    (400, {"base": ["Calls per second exceeded"]}, CpsLimitError),
    (200, {"to": ["Number is on the Do Not Call list"]}, ContactSuppressedError),
    (422, {"base": ["Schedule is paused"]}, ScheduleUnavailableError),
    (422, {"to": ["recently dialed"]}, RecentlyDialedError),
    (422, {"to": ["Invalid destination number"]}, InvalidNumberError),
    (404, {"base": ["Unknown lead"]}, UnknownLeadError),
]


@pytest.mark.parametrize(("status", "errors", "cls"), GUARDS)
async def test_each_guard_failure_maps_to_its_own_error_class(
    td: TrackDriveProvider, mocked: Any, url: str, kit: Any,
    status: int, errors: dict[str, list[str]], cls: type[CallGuardError],
) -> None:
    body_status = 422 if status == 200 else status
    mocked.post(url, status=status, payload={"status": body_status, "errors": errors})
    with pytest.raises(cls) as info:
        await td.schedules.make_call(lead_id=LEAD)
    error = info.value
    assert type(error) is cls
    assert isinstance(error, CallGuardError)
    assert error.field_errors == errors
    assert not error.may_have_been_sent
    assert "call not placed" in str(error)
    assert len(kit.calls(mocked, "POST", url)) == 1  # never retried


# The wordings TrackDrive's make_call page gives its guards, and Rails' RecordNotFound text.
DOCUMENTED_WORDINGS = [
    pytest.param(422, {"status": 422, "errors": {"base": ["The schedule must be active."]}},
                 ScheduleUnavailableError, id="the-schedule-must-be-active"),
    pytest.param(200, {"status": 422, "errors": {"schedule": ["The schedule must be active."]}},
                 ScheduleUnavailableError, id="the-schedule-must-be-active-in-an-http-200"),
    pytest.param(422, {"status": 422,
                       "errors": {"base": ["The destination number must be valid."]}},
                 InvalidNumberError, id="the-destination-number-must-be-valid"),
    pytest.param(422, {"status": 422, "errors": {"to": ["was recently dialed"]}},
                 RecentlyDialedError, id="recently-dialed"),
    pytest.param(422, {"status": 422, "errors": {"base": ["Recently-dialed number"]}},
                 RecentlyDialedError, id="recently-dialed-hyphenated-as-the-docs-write-it"),
    pytest.param(404, {"status": 404,
                       "errors": {"base": ["Couldn't find Lead with 'id'=11000635"]}},
                 UnknownLeadError, id="rails-couldnt-find-lead-with-id"),
    pytest.param(404, {"error": "Couldn\u2019t find Lead with 'id'=e36e2da0"},
                 UnknownLeadError, id="rails-couldnt-find-lead-typographic-apostrophe"),
    pytest.param(404, {"status": 404, "errors": {"base": ["Couldn't find Schedule with 'id'=5"]}},
                 ScheduleUnavailableError, id="rails-couldnt-find-schedule-with-id"),
]


@pytest.mark.parametrize(("status", "payload", "cls"), DOCUMENTED_WORDINGS)
async def test_each_documented_guard_wording_maps_to_its_typed_guard_error(
    td: TrackDriveProvider, mocked: Any, url: str, kit: Any,
    status: int, payload: dict[str, Any], cls: type[CallGuardError],
) -> None:
    mocked.post(url, status=status, payload=payload)
    with pytest.raises(cls) as info:
        await td.schedules.make_call(lead_id=LEAD)
    assert type(info.value) is cls
    assert not info.value.may_have_been_sent and "call not placed" in str(info.value)
    assert len(kit.calls(mocked, "POST", url)) == 1  # never retried


def test_guard_classes_are_also_the_http_shaped_classes() -> None:
    assert issubclass(ScheduleUnavailableError, UnprocessableError)
    assert issubclass(CpsLimitError, UnprocessableError)
    assert issubclass(UnknownLeadError, NotFoundError)
    assert not issubclass(UnknownLeadError, UnprocessableError)


async def test_cps_and_redial_errors_suggest_a_retry_after(
    td: TrackDriveProvider, mocked: Any, url: str
) -> None:
    mocked.post(url, status=422, payload={"errors": {"base": ["CPS limit exceeded"]}})
    mocked.post(url, status=422,
                payload={"errors": {"to": ["was dialed within the last 30 seconds"]}})
    with pytest.raises(CpsLimitError) as cps:
        await td.schedules.make_call(lead_id=LEAD)
    with pytest.raises(RecentlyDialedError) as redial:
        await td.schedules.make_call(lead_id=LEAD)
    assert cps.value.retry_after == C.TRACKDRIVE_CPS_RETRY_AFTER and cps.value.retryable
    assert redial.value.retry_after == C.TRACKDRIVE_REDIAL_WINDOW
    assert not redial.value.retryable


async def test_an_unrecognised_422_stays_a_plain_unprocessable_error(
    td: TrackDriveProvider, mocked: Any, url: str
) -> None:
    mocked.post(url, status=422, payload={"errors": {"data": ["must be a hash"]}})
    with pytest.raises(UnprocessableError) as info:
        await td.schedules.make_call(lead_id=LEAD)
    assert not isinstance(info.value, CallGuardError)


async def test_make_call_is_not_retried_even_when_nothing_was_sent(
    td: TrackDriveProvider, mocked: Any, url: str, kit: Any
) -> None:
    mocked.post(url, status=429, headers={"Retry-After": "0"})
    mocked.post(url, payload=kit.envelope("call", CALL))
    with pytest.raises(RateLimitError):
        await td.schedules.make_call(lead_id=LEAD)
    assert len(kit.calls(mocked, "POST", url)) == 1


async def test_make_call_timeout_is_delivery_unknown_and_not_retried(
    td: TrackDriveProvider, mocked: Any, url: str, kit: Any
) -> None:
    mocked.post(url, exception=TimeoutError())
    mocked.post(url, payload=kit.envelope("call", CALL))
    with pytest.raises(DeliveryUnknownError):
        await td.schedules.make_call(lead_id=LEAD)
    assert len(kit.calls(mocked, "POST", url)) == 1


async def test_a_number_quoted_in_an_error_text_is_masked_in_the_message(
    td: TrackDriveProvider, mocked: Any, url: str
) -> None:
    mocked.post(url, status=422, payload={"errors": {"to": [f"{TO} is suppressed (DNC)"]}})
    with pytest.raises(ContactSuppressedError) as info:
        await td.schedules.make_call(lead_id=LEAD)
    assert TO not in str(info.value) and TO not in repr(info.value)
    assert info.value.field_errors == {"to": [f"{TO} is suppressed (DNC)"]}
