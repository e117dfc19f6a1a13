"""The CRS of an AdV CityGML tile: its first ``srsName`` (AdV URN, EPSG code, OGC URN or URI,
compound) as (horizontal, vertical) EPSG codes, read without parsing the file."""

from __future__ import annotations

import re
from pathlib import Path

from gdi.errors import SourceError

_SRS_NAME = re.compile(rb"""srsName\s*=\s*["']([^"']*)["']""")
_EPSG = re.compile(r"EPSG[:/](?:[\d.]*[:/])?(\d+)(?:\+(\d+))?", re.I)
_ADV = {"ETRS89_UTM31": "EPSG:25831", "ETRS89_UTM32": "EPSG:25832", "ETRS89_UTM33": "EPSG:25833",
        "DE_DHDN_3GK2": "EPSG:31466", "DE_DHDN_3GK3": "EPSG:31467",
        "DE_DHDN_3GK4": "EPSG:31468", "DE_DHDN_3GK5": "EPSG:31469"}
_ADV_HEIGHT = {"DE_DHHN2016_NH": "EPSG:7837", "DE_DHHN92_NH": "EPSG:5783"}
_COMPOUND = {"5554": ("EPSG:25831", "EPSG:5783"), "5555": ("EPSG:25832", "EPSG:5783"),
             "5556": ("EPSG:25833", "EPSG:5783")}  # ETRS89 / UTM zone 3xN + DHHN92 height


def crs_of(path: Path) -> tuple[str, str | None]:
    """(horizontal, vertical) EPSG codes of the file's first ``srsName``, read without parsing."""
    tail = b""
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 16):
                if m := _SRS_NAME.search(buffer := tail + chunk):
                    return srs_codes(m.group(1).decode("utf-8", "replace"), path)
                tail = buffer[-512:]
    except OSError as exc:
        raise SourceError(f"{path}: cannot read CityGML: {exc.strerror or exc}") from None
    raise SourceError(f"{path}: no srsName in the file, its CRS is unknown")


def srs_codes(srs_name: str, path: Path | None = None) -> tuple[str, str | None]:
    """Map a srsName (AdV URN, EPSG code, OGC URN or URI, compound) to EPSG codes."""
    name = srs_name.strip()
    if name.lower().startswith("urn:adv:crs:"):  # horizontal*height*quasigeoid
        tokens = name[len("urn:adv:crs:"):].upper().split("*")
        horizontal = _ADV.get(tokens[0])
        vertical = _ADV_HEIGHT.get(tokens[1]) if len(tokens) > 1 else None
        if horizontal and (len(tokens) == 1 or vertical):
            return horizontal, vertical
    else:
        codes = [c for m in _EPSG.finditer(name) for c in m.groups() if c]
        if len(codes) == 1:
            return _COMPOUND.get(codes[0], (f"EPSG:{codes[0]}", None))
        if len(codes) == 2:
            return f"EPSG:{codes[0]}", f"EPSG:{codes[1]}"
    raise SourceError(f"{path or 'CityGML'}: unknown srsName '{srs_name}'",
                      hint="expected an AdV URN such as urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH"
                      " or EPSG codes")
