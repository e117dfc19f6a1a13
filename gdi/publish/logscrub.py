"""No query value reaches a log: every log record written while a request is served has the
request's parameter values (and their words) replaced by ``<query>``.

Filters name people, parcels and addresses (``owner = 'Müller'``); a library that logs a
parse error with the whole filter, or an exception message quoting it, must not copy them into
a log file. The WSGI guard announces the values of each request (:func:`request_values`); a
log-record factory, installed once per process, scrubs message, arguments and traceback text
before any handler sees them, whichever library logs.
"""

from __future__ import annotations

import contextvars
import logging
import re
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

MASK = "<query>"
_values: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("gdi_query_values",
                                                                          default=())
_WORDS = re.compile(r"[\w.@-]{3,}", re.UNICODE)


def _secrets(values: Iterable[str]) -> tuple[str, ...]:
    out = set()
    for v in values:
        if len(v) >= 2:
            out.add(v)
        out.update(_WORDS.findall(v))
    return tuple(sorted(out, key=len, reverse=True))  # longest first: no partial leftovers


@contextmanager
def request_values(values: Iterable[str]) -> Iterator[None]:
    token = _values.set(_secrets(values))
    try:
        yield
    finally:
        _values.reset(token)


def scrub(text: str) -> str:
    for secret in _values.get():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def install() -> None:
    """Wrap the process's log-record factory (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "gdi_scrubs", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _values.get():
            record.msg, record.args = scrub(record.getMessage()), None
            if record.exc_info and record.exc_info[0] is not None:
                record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)))
                record.exc_info = None
            if record.stack_info:
                record.stack_info = scrub(record.stack_info)
        return record

    factory.gdi_scrubs = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
