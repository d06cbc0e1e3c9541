"""Logging that never shows a phone number: anything number-like is masked."""

from __future__ import annotations

import logging
import re

# E.164 numbers, and bare runs of 10-15 digits (a US number written without +1).
_NUMBER = re.compile(r"\+\d{8,15}\b|(?<![\d.:])\d{10,15}(?![\d.:])")


class MaskPhoneNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _NUMBER.sub(lambda m: "***" + re.sub(r"\D", "", m.group())[-2:], message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, MaskPhoneNumbers) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskPhoneNumbers())
        root.addHandler(handler)
        root.setLevel(level)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # twilio-python logs ~10 INFO lines per request: a broadcast worker would spend
        # more time formatting them than sending.
        logging.getLogger("twilio").setLevel(logging.WARNING)
        # rq logs through its own handler; don't print every line twice.
        logging.getLogger("rq").propagate = False
