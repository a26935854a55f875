"""The smsbridge logger: silent by default, numbers masked, SMSBRIDGE_LOG switch."""

from __future__ import annotations

import logging

import pytest

from smsbridge import _logging
from smsbridge._logging import PhoneMaskingFilter, logger


def test_the_library_logger_is_silent_by_default():
    assert logger.name == "smsbridge"
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert any(isinstance(f, PhoneMaskingFilter) for f in logger.filters)


def test_numbers_in_messages_and_arguments_are_masked(caplog):
    caplog.set_level(logging.DEBUG, logger="smsbridge")
    logger.debug("sending to %s", "+13035551234")
    logger.info("reply from (720) 555-0123 about order 42")
    text = caplog.text
    assert "+1303*****34" in text
    assert "3035551234" not in text and "555-0123" not in text
    assert "order 42" in text


def test_a_record_without_numbers_is_left_untouched():
    record = logging.LogRecord("smsbridge", logging.INFO, __file__, 1, "attempt %d", (2,), None)
    assert PhoneMaskingFilter().filter(record) is True
    assert (record.msg, record.args) == ("attempt %d", (2,))


@pytest.fixture
def restore_logger():
    handlers, filters, level = list(logger.handlers), list(logger.filters), logger.level
    yield
    logger.handlers[:] = handlers
    logger.filters[:] = filters
    logger.setLevel(level)


@pytest.mark.parametrize(("setting", "level"), [("debug", logging.DEBUG), (" Info ", logging.INFO)])
def test_smsbridge_log_adds_a_masking_stderr_handler(monkeypatch, restore_logger, setting, level):
    monkeypatch.setenv("SMSBRIDGE_LOG", setting)
    before = len(logger.handlers)
    _logging._configure()
    added = [h for h in logger.handlers[before:] if type(h) is logging.StreamHandler]
    assert len(added) == 1
    assert any(isinstance(f, PhoneMaskingFilter) for f in added[0].filters)
    assert logger.level == level


def test_an_unknown_smsbridge_log_value_adds_no_handler(monkeypatch, restore_logger):
    monkeypatch.setenv("SMSBRIDGE_LOG", "loud")
    before = [h for h in logger.handlers if type(h) is logging.StreamHandler]
    _logging._configure()
    assert [h for h in logger.handlers if type(h) is logging.StreamHandler] == before
