"""The query parameters of the OGC API, checked before pygeoapi sees them.

Each check names the parameter and the reason (``offset: must be an integer from 0 to
10^15``), so a client learns what to fix; a value the service cannot use is a 400, never a
500 and never silently ignored. Property filters (``?height_m=12``) are checked against the
property's type: ``yes`` is not a boolean, ``99999999999999999999`` not a 64-bit integer.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

MAX_OFFSET = 10**15
MAX_LIMIT = 10**9  # pygeoapi caps the page at its configured maximum (server.limits)
MAX_FILTER_CHARS = 8000  # the front refuses longer request lines anyway (414)
_INT = re.compile(r"^[+-]?\d{1,19}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BOOLEAN = {"true": True, "false": False, "1": True, "0": False}


class ParameterError(ValueError):
    """A query parameter's value cannot be used (message: '<name>: <reason>')."""


def _integer(name: str, value: str, low: int, high: int) -> int:
    if not _INT.match(value.strip()) or not low <= int(value) <= high:
        raise ParameterError(f"{name}: must be an integer from {low} to {high:.0e}"
                             if high >= 10**6 else
                             f"{name}: must be an integer from {low} to {high}")
    return int(value)


def _instant(name: str, text: str) -> None:
    if text in {"..", ""}:
        return
    try:
        if _DATE.match(text):
            dt.date.fromisoformat(text)
        else:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if value.tzinfo is None:
                raise ValueError("no time zone")
    except ValueError:
        raise ParameterError(f"{name}: '{text}' is not an RFC 3339 date or date-time with a "
                             "time zone (e.g. 2024-05-01 or 2024-05-01T12:00:00Z), nor '..'"
                             ) from None


def _datetime(value: str) -> None:
    parts = value.split("/")
    if len(parts) > 2 or parts == ["..", ".."] or (len(parts) == 1 and parts[0] == ".."):
        raise ParameterError("datetime: an instant or an interval start/end ('..' open)")
    for part in parts:
        _instant("datetime", part)


def _bbox(name: str, value: str) -> None:
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise ParameterError(f"{name}: 4 numbers (minx,miny,maxx,maxy) or 6 (with heights)")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ParameterError(f"{name}: the values must be numbers") from None
    if not all(math.isfinite(n) for n in numbers):
        raise ParameterError(f"{name}: the values must be finite numbers")


def _filter(value: str, lang: str | None) -> None:
    if len(value) > MAX_FILTER_CHARS:
        raise ParameterError(f"filter: longer than {MAX_FILTER_CHARS} characters")
    is_json = value.lstrip().startswith("{")
    if lang not in (None, "cql2-text", "cql2-json"):
        raise ParameterError("filter-lang: cql2-text or cql2-json")
    if (lang == "cql2-json" and not is_json) or (lang == "cql2-text" and is_json):
        raise ParameterError(f"filter: the filter is not {lang}")
    try:
        if is_json:
            parse_cql2_json(json.loads(value))
        else:
            parse_cql2_text(value)
    except Exception as exc:  # the parsers raise many kinds; all mean a bad filter
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ParameterError(f"filter: not valid {'CQL2 JSON' if is_json else 'CQL2 text'}: "
                             f"{reason}") from None


def _typed(name: str, value: str, kind: str) -> None:
    if kind == "integer":
        if not _INT.match(value.strip()) or not -(2**63) <= int(value) < 2**63:
            raise ParameterError(f"{name}: '{value}' is not a 64-bit integer")
    elif kind == "number":
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(f"{name}: '{value}' is not a number") from None
        if not math.isfinite(number):
            raise ParameterError(f"{name}: '{value}' is not a finite number")
    elif kind == "boolean" and value.strip().lower() not in BOOLEAN:
        raise ParameterError(f"{name}: '{value}' is not a boolean (true or false)")


def check(pairs: list[tuple[str, str]], types: dict[str, str]) -> None:
    """Raise :class:`ParameterError` for the first unusable value. ``types``: the property
    types of the collection the request addresses (empty elsewhere)."""
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name in seen:
            raise ParameterError(f"{name}: given more than once")
        seen[name] = value
    for name, value in pairs:
        if name == "limit":
            _integer(name, value, 1, MAX_LIMIT)
        elif name == "offset":
            _integer(name, value, 0, MAX_OFFSET)
        elif name == "skipGeometry" and value.lower() not in {"true", "false"}:
            raise ParameterError("skipGeometry: true or false")
        elif name == "resulttype" and value not in {"results", "hits"}:
            raise ParameterError("resulttype: results or hits")
        elif name == "datetime":
            _datetime(value)
        elif name in {"bbox"}:
            _bbox(name, value)
        elif name == "filter":
            _filter(value, seen.get("filter-lang"))
        elif name == "filter-lang" and value not in {"cql2-text", "cql2-json"}:
            raise ParameterError("filter-lang: cql2-text or cql2-json")
        elif name in types:
            _typed(name, value, types[name])
