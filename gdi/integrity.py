"""Is the source file whole? Checks of what each format allows checking, before reading.

A department's export can be cut short (a full disk, an interrupted copy, a mail size limit)
or written with other settings than the descriptor says. GDAL reads what is there and says
nothing, so a truncated file would be published as a smaller dataset. Each check here refuses
with one message naming the file and what is wrong:

- DBF: the record count in the header against the file's size;
- Shapefile: ``.shp`` length against its header, every ``.shx`` entry inside the ``.shp``, the
  ``.shx`` count against the DBF count;
- CSV: the declared delimiter against the header, no duplicate column names, every row with the
  header's number of columns, the last line ended (a file cut mid-line has no line end).
"""

from __future__ import annotations

import csv
import io
import struct
from collections import Counter
from pathlib import Path

import numpy as np

from gdi.errors import SourceError

CUT = "the export looks cut off; export it again"


def dbf(path: Path) -> int:
    """The DBF's record count; refuses a file shorter than its header says."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(32)
    if len(head) < 32:
        raise SourceError(f"{path}: not a DBF file (shorter than its header)", hint=CUT)
    count, header_len, record_len = struct.unpack("<IHH", head[4:12])
    expected = header_len + count * record_len
    if size < expected:
        whole = max(0, (size - header_len) // record_len) if record_len else 0
        raise SourceError(f"{path}: the header announces {count:,} records, the file holds "
                          f"{whole:,} ({size:,} of {expected:,} bytes)", hint=CUT)
    return int(count)


def shapefile(shp: Path, records: int) -> None:
    """``.shp`` and ``.shx`` complete and consistent with the DBF's ``records``."""
    shx = shp.with_suffix(".shx")
    if not shx.exists():
        raise SourceError(f"{shp}: the .shx beside the shapefile is missing",
                          hint="export all files of the shapefile (.shp, .shx, .dbf, .prj)")
    shp_size, shx_size = shp.stat().st_size, shx.stat().st_size
    with shp.open("rb") as fh:
        head = fh.read(100)
    if len(head) < 100:
        raise SourceError(f"{shp}: not a shapefile (shorter than its header)", hint=CUT)
    declared = struct.unpack(">i", head[24:28])[0] * 2
    if shp_size < declared:
        raise SourceError(f"{shp}: the header announces {declared:,} bytes, the file has "
                          f"{shp_size:,}", hint=CUT)
    entries = (shx_size - 100) // 8
    if entries != records:
        raise SourceError(f"{shp}: the .shx indexes {entries:,} shapes, the .dbf holds "
                          f"{records:,} records", hint=CUT)
    with shx.open("rb") as fh:
        fh.seek(100)
        index = fh.read(entries * 8)
    pairs = np.frombuffer(index, dtype=">i4").astype(np.int64).reshape(-1, 2)
    beyond = np.flatnonzero(pairs[:, 0] * 2 + 8 + pairs[:, 1] * 2 > shp_size)
    if len(beyond):
        raise SourceError(f"{shp}: shape {beyond[0] + 1:,} of {entries:,} lies beyond the end "
                          f"of the file ({shp_size:,} bytes)", hint=CUT)


def csv_text(path: Path, text: str, delimiter: str) -> str:
    """Check a decoded CSV; returns the delimiter to use (``auto``: the one the header has)."""
    if not text.strip():
        raise SourceError(f"{path}: the file is empty", hint=CUT)
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    found = max(counts, key=lambda d: counts[d])
    names = {";": "';'", ",": "','", "\t": "tab"}
    if delimiter == "auto":
        delimiter = found
    elif counts[delimiter] == 0 and counts[found] > 0:
        raise SourceError(f"{path}: the descriptor says delimiter {names[delimiter]}, the "
                          f"header is separated by {names[found]}",
                          hint="set source.csv.delimiter to what the file uses (or 'auto')")
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    try:
        header = next(rows)
    except StopIteration:
        raise SourceError(f"{path}: the file is empty", hint=CUT) from None
    dup = sorted(n for n, k in Counter(h.strip() for h in header).items() if k > 1)
    if dup:
        raise SourceError(f"{path}: column name(s) used twice in the header: {', '.join(dup)}",
                          hint="rename the columns in the export so each name is unique")
    width = len(header)
    bad: list[int] = []
    line = 1
    try:
        for row in rows:
            line = rows.line_num
            if row and len(row) != width:
                bad.append(line)
    except csv.Error as exc:
        raise SourceError(f"{path}: line {rows.line_num}: {exc}", hint=CUT) from None
    if bad:
        shown = ", ".join(f"{n:,}" for n in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise SourceError(f"{path}: {len(bad):,} line(s) do not have the header's {width} "
                          f"columns (line {shown})",
                          hint=CUT if bad == [line] else
                          "check the delimiter and the quoting of the export")
    if not text.endswith(("\n", "\r")):
        raise SourceError(f"{path}: the last line (line {line:,}) has no line end",
                          hint=CUT)
    return delimiter
