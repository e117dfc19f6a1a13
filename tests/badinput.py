"""A small dataset for the bad-input corpus: 300 benches in Hildesheim as a semicolon CSV
(decimal comma), a Shapefile or a GeoJSON, with a plain descriptor (no INSPIRE block), so
that each broken variant runs in a second through the real ``gdi run``."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

N = 300
NAMES = ("Bank am Hagentor", "Bank Domhof", "Bank Liebesgrund", "Bank Kehrwieder",
         "Bank Magdalenengärten", "Bank Ortsteil Moritzberg", "Bank Steinberg (Süd)")


def _points() -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(31)
    x = rng.uniform(560000, 570000, N).round(2)
    y = rng.uniform(5770000, 5780000, N).round(2)
    numbers = [f"B-{i:04d}" for i in range(1, N + 1)]
    names = [NAMES[i % len(NAMES)] for i in range(N)]
    return x, y, numbers, names


def csv_text(delimiter: str = ";") -> str:
    x, y, numbers, names = _points()
    lines = [delimiter.join(["NR", "NAME", "X", "Y"])]
    for xi, yi, nr, name in zip(x, y, numbers, names, strict=True):
        fx, fy = (f"{xi:.2f}", f"{yi:.2f}")
        if delimiter == ";":
            fx, fy = fx.replace(".", ","), fy.replace(".", ",")
        lines.append(delimiter.join([nr, name, fx, fy]))
    return "\r\n".join(lines) + "\r\n"


def frame() -> gpd.GeoDataFrame:
    x, y, numbers, names = _points()
    return gpd.GeoDataFrame({"NR": numbers, "NAME": names}, geometry=shapely.points(x, y),
                            crs="EPSG:25832")


def write_source(folder: Path, fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        path = folder / "baenke.csv"
        path.write_bytes(csv_text().encode())
    elif fmt == "shapefile":
        import pyogrio

        path = folder / "baenke.shp"
        pyogrio.write_dataframe(frame(), path, encoding="cp1252")
    else:
        path = folder / "baenke.geojson"
        path.write_text(frame().to_json(ensure_ascii=False), encoding="utf-8")
    return path


def descriptor(source: Path, fmt: str, crs: str = "EPSG:25832", *,
               bbox: tuple[float, ...] = (556000, 5767000, 574000, 5786000),
               extra: str = "") -> str:
    csv = '  csv: {delimiter: ";", decimal: ",", x: X, y: Y}\n' if fmt == "csv" else ""
    encoding = "  encoding: cp1252\n" if fmt == "shapefile" else ""
    return (
        "id: benches\n"
        "title: {de: Bänke, en: Benches}\n"
        "source:\n"
        f"  path: {json.dumps(str(source))}\n"
        f"  format: {fmt}\n"
        f"{encoding}"
        f"  crs: {crs}\n"
        f"{csv}"
        "fields:\n"
        "  number: {source: NR, type: text, required: true}\n"
        "  name: {source: NAME, type: text}\n"
        "area:\n"
        f"  bbox: {json.dumps(list(bbox))}\n"
        "duplicates:\n"
        "  key: [number]\n"
        "metadata: {inspire_relevant: false, topic_categories: [structure],"
        " update_frequency: asNeeded}\n"
        "publication:\n"
        "  collection: benches\n"
        "  title: {de: Bänke, en: Benches}\n"
        "  description: {de: Sitzbänke der Stadt, en: The city's benches}\n"
        f"{extra}"
    )
