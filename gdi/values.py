"""Vectorised parsing of source text into typed values.

Each parser takes a text column (object dtype, None for missing) and returns the typed values
and a boolean mask of values that were present but could not be parsed. Nothing is guessed:
a value that is not clearly of its type is reported, not "fixed".
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

_TRUE = {"ja", "j", "yes", "y", "true", "wahr", "1", "x"}
_FALSE = {"nein", "n", "no", "false", "falsch", "0"}
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$|^[+-]?\d*\.?\d+([eE][+-]?\d+)?$")

_ARROW_STR = pd.ArrowDtype(pa.string())
Parser = Callable[[pd.Series], tuple[pd.Series, np.ndarray]]


def normalise_text(raw: pd.Series, nulls: tuple[str, ...]) -> pd.Series:
    """Strip white space (also inside: runs collapse to one space); null markers become None."""
    s = raw.astype(_ARROW_STR).str.replace(r"\s+", " ", regex=True).str.strip()  # C (Arrow)
    null_set = {n.lower() for n in nulls}
    is_null = (s.isna() | s.str.lower().isin(null_set)).fillna(True).to_numpy(dtype=bool)
    return s.where(~is_null)  # Arrow strings, NA where empty: no Python object per value


def _present(s: pd.Series) -> np.ndarray:
    return s.notna().to_numpy(dtype=bool)


def parse_text(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    return s, np.zeros(len(s), dtype=bool)


def parse_number(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = s.astype(_ARROW_STR)
    ok_shape = text.str.match(_NUMBER).fillna(False).to_numpy(dtype=bool)
    comma = text.str.contains(",", regex=False).fillna(False).to_numpy(dtype=bool)
    german = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    cleaned = text.where(~comma, german)
    values = pd.to_numeric(cleaned.where(ok_shape), errors="coerce")
    bad = _present(s) & ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    return values.astype("Float64"), bad


def parse_integer(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    values, bad = parse_number(s)
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    frac = np.isfinite(arr) & (np.floor(arr) != arr)
    out = pd.Series(np.where(frac, np.nan, arr), index=s.index).round().astype("Int64")
    return out, bad | frac


_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%Y%m%d", "%d.%m.%y", "%Y/%m/%d")


def parse_date(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = s.astype(_ARROW_STR).str.slice(0, 10)
    result = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in _DATE_FORMATS:
        todo = result.isna() & text.notna()
        if not todo.any():
            break
        result[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    bad = _present(s) & result.isna().to_numpy(dtype=bool)
    iso = result.dt.strftime("%Y-%m-%d").astype(object).where(result.notna(), None)
    return iso, bad


def parse_boolean(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    low = s.astype(_ARROW_STR).str.lower()
    values = pd.Series(pd.NA, index=s.index, dtype="boolean")
    values[low.isin(_TRUE).fillna(False)] = True
    values[low.isin(_FALSE).fillna(False)] = False
    bad = _present(s) & values.isna().to_numpy(dtype=bool)
    return values, bad


PARSERS: dict[str, Parser] = {
    "text": parse_text,
    "number": parse_number,
    "integer": parse_integer,
    "date": parse_date,
    "boolean": parse_boolean,
}


def out_of_range(values: pd.Series, lo: float | None, hi: float | None) -> np.ndarray:
    if lo is None and hi is None:
        return np.zeros(len(values), dtype=bool)
    arr = values.to_numpy(dtype=float, na_value=np.nan) if values.dtype != object else (
        pd.to_numeric(values.str.slice(0, 4), errors="coerce").to_numpy(dtype=float)
    )
    bad = np.zeros(len(arr), dtype=bool)
    with np.errstate(invalid="ignore"):
        if lo is not None:
            bad |= arr < lo
        if hi is not None:
            bad |= arr > hi
    return bad & np.isfinite(arr)
