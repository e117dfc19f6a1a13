"""Deterministic sample of Hildesheim's playground cadastre, as the green-space office exports it.

- ``spielplaetze.geojson``: 157 playgrounds in operation (the city's figures: 12 for small
  children, 113 for ages 6-12, 32 youth playgrounds) plus retired ones still in the file, as
  polygons in ETRS89/UTM 32N (GeoJSON with a ``crs`` member, as QGIS writes it). Mess:
  numbers as "SP-012", "12", "Spielplatz 12", "012"; self-intersecting, unclosed and
  repeated-vertex polygons, one collapsed sketch; "-" for empty; multi-valued target groups
  ("Kleinkinder\\r\\nSchulkinder"); sponsor names (internal) with canaries.
- ``spielgeraete.csv``: the equipment table (semicolon, decimal comma, UTF-8 with BOM, CRLF),
  joined by playground number in mixed formats; rows of retired and unknown playgrounds.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from gdi.samples.trees import CENTRE, DISTRICTS, STREETS

SEED = 1176  # DIN EN 1176
SPONSOR_CANARY = "GEHEIM-PATE"
TYPES = (("Kleinkinderspielplatz", "Kleinkinder", 12), ("Kinderspielplatz", "Schulkinder", 113),
         ("Jugendspielplatz", "Jugendliche", 32))
EQUIPMENT = (  # (kind, DIN EN 1176 part, typical free height of fall in m)
    ("Schaukel", 2, 1.5), ("Rutsche", 3, 1.2), ("Seilbahn", 4, 1.0), ("Karussell", 5, 0.6),
    ("Wippgerät", 6, 0.8), ("Federwippgerät", 6, 0.5), ("Raumnetz", 11, 2.5),
    ("Kletterkombination", 1, 2.0), ("Sandkasten", 1, 0.0), ("Balancierbalken", 1, 0.6),
)
MAKERS = ("Kompan", "Eibe", "Richter Spielgeräte", "Berliner Seilfabrik", "Huck Seiltechnik",
          "Spogg", "Playparc")
MATERIALS = ("Robinienholz", "Stahl verzinkt", "Edelstahl", "HPL", "Seil (Herkulesseil)")
SURFACES = ("Sand", "Rindenmulch", "Kies", "Fallschutzplatten", "EPDM-Fallschutzbelag")


def _number(i: int, rng: np.random.Generator) -> str:
    style = rng.integers(0, 5)
    return [f"SP-{i:03d}", str(i), f"Spielplatz {i}", f"{i:03d}", f" {i} "][style]


def _polygon(cx: float, cy: float, w: float, h: float, angle: float) -> list[list[float]]:
    c, s = np.cos(angle), np.sin(angle)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    ring = [[round(cx + x * c - y * s, 2), round(cy + x * s + y * c, 2)] for x, y in pts]
    return [*ring, ring[0]]


def generate(out_dir: Path, count: int = 157, seed: int = SEED) -> Path:
    rng = np.random.default_rng(seed)
    scale = max(1, count // 157)
    kinds = [t for t in TYPES for _ in range(t[2] * scale)][:max(count, 3)]
    retired = max(6, count // 25)
    features: list[dict[str, Any]] = []
    numbers, status = [], []
    for i in range(1, len(kinds) + retired + 1):
        kind = kinds[(i - 1) % len(kinds)]
        r, a = abs(rng.normal(0, 2500)) + 100, rng.uniform(0, 2 * np.pi)
        cx, cy = CENTRE[0] + r * np.cos(a), CENTRE[1] + r * np.sin(a)
        ring = _polygon(cx, cy, rng.uniform(20, 80), rng.uniform(15, 60), rng.uniform(0, 1.5))
        groups = kind[1] if rng.random() < 0.7 else f"{kind[1]}\r\nSchulkinder"
        st = "stillgelegt" if i > len(kinds) else "in Betrieb"
        numbers.append(i)
        status.append(st)
        features.append({"type": "Feature", "properties": {
            "SPNR": _number(i, rng), "NAME": f"Spielplatz {STREETS[i % len(STREETS)]}",
            "TYP": kind[0], "ZIELGRUPPE": groups, "STADTTEIL": DISTRICTS[i % len(DISTRICTS)],
            "FLAECHE": f"{abs(ring[1][0] - ring[0][0]) * 40:.1f}".replace(".", ","),
            "BAUJAHR": str(int(rng.integers(1965, 2025))), "STATUS": st,
            "KONTROLLE": f"{rng.integers(1, 28):02d}.{rng.integers(1, 13):02d}.2025",
            "PATE": f"{SPONSOR_CANARY}-{i} Bürgerverein", "BEMERKUNG": "-"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}})
    _mess(features)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"type": "FeatureCollection", "name": "spielplaetze",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
           "features": features}
    path = out_dir / "spielplaetze.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    _equipment(out_dir / "spielgeraete.csv", numbers, rng)
    return path


def _mess(features: list[dict[str, Any]]) -> None:
    def ring(i: int) -> list[list[float]]:
        coords: list[list[float]] = features[i]["geometry"]["coordinates"][0]
        return coords

    for i in (3, 40):  # self-intersection: a bow tie (two corners swapped)
        r = ring(i)
        r[1], r[2] = r[2], r[1]
    for i in (7, 90):  # ring not closed
        ring(i).pop()
    for i in (11, 60, 120):  # repeated vertices
        r = ring(i)
        r.insert(2, list(r[2]))
    collapsed = json.loads(json.dumps(features[20]))  # a sketch collapsed to a line
    r0 = collapsed["geometry"]["coordinates"][0]
    collapsed["geometry"]["coordinates"][0] = [r0[0], r0[1], r0[0], r0[1], r0[0]]
    collapsed["properties"]["SPNR"] = "SP-999"
    features.append(collapsed)


def _equipment(path: Path, numbers: list[int], rng: np.random.Generator) -> None:
    header = ["SPIELPLATZ", "GERAETNR", "GERAETEART", "NORM", "HERSTELLER", "BAUJAHR",
              "MATERIAL", "FALLHOEHE_M", "FALLSCHUTZ", "HAUPTUNTERSUCHUNG", "MAENGELKLASSE",
              "GESPERRT", "PATE", "BEMERKUNG"]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        w.writerow(header)
        for n in [*numbers, 998]:  # 998: a playground that is not in the cadastre
            for g in range(1, int(rng.integers(5, 15))):
                kind, part, height = EQUIPMENT[int(rng.integers(0, len(EQUIPMENT)))]
                fall = f"{height:.2f}".replace(".", ",") if rng.random() > 0.05 else "ca. 1,2"
                w.writerow([_number(n, rng), f"G{g}", kind, f"DIN EN 1176-{part}",
                            MAKERS[int(rng.integers(0, len(MAKERS)))],
                            int(rng.integers(1990, 2025)),
                            MATERIALS[int(rng.integers(0, len(MATERIALS)))], fall,
                            SURFACES[int(rng.integers(0, len(SURFACES)))],
                            f"{rng.integers(1, 28):02d}.{rng.integers(1, 13):02d}.2025",
                            int(rng.choice([0, 0, 0, 1, 1, 2, 3])),
                            "ja" if rng.random() < 0.04 else "nein",
                            f"{SPONSOR_CANARY}-{n}-{g} Sponsor" if rng.random() < 0.3 else "-",
                            "-"])
