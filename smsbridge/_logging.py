"""The ``smsbridge`` logger: silent by default, phone numbers masked, secrets never logged.

Set ``SMSBRIDGE_LOG=debug`` (or ``info``) to get a stderr handler without touching logging config.
"""

from __future__ import annotations

import logging
import os

from .phone import mask_text

logger = logging.getLogger("smsbridge")


class PhoneMaskingFilter(logging.Filter):
    """Last line of defence: mask any phone-number-looking text in a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def _configure() -> None:
    logger.addHandler(logging.NullHandler())
    logger.addFilter(PhoneMaskingFilter())
    level = os.environ.get("SMSBRIDGE_LOG", "").strip().upper()
    if level in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.addFilter(PhoneMaskingFilter())
        logger.addHandler(handler)
        logger.setLevel(level)


_configure()
