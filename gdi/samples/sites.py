"""Deterministic sample of Hildesheim's contaminated-sites register (Altlastenkataster).

As the environment department's register exports it: a Shapefile (CP1252 DBF, no .cpg) in
DHDN / Gauss-Krüger zone 3 with about 1,300 suspected sites and 34 old landfills (the city's
figures). Confidential fields (owner, address, parcel, exact location, case officer, notes)
carry canary strings; the leak tests search every public output for them.

Three private sites carry the mess of a real register, so that the leak tests see what a
report would say of them: a register number entered twice (``MESSY_DUPLICATE``), a bow-tie
polygon (``MESSY_BOWTIE``) and easting/northing swapped (``MESSY_SWAPPED``); 0-based rows.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gdi import crs
from gdi.samples.trees import CENTRE, STREETS
from gdi.vio import write_shapefile

SEED = 3254021
MESSY_DUPLICATE, MESSY_BOWTIE, MESSY_SWAPPED = 16, 40, 50
CANARY = "GEHEIM"  # every confidential value contains it, e.g. "GEHEIM-EIGENTUEMER-17"
CONFIDENTIAL = ("EIGENTUEM", "ANSCHRIFT", "FLURSTUECK", "LAGE", "SACHBEARB", "BEMERKUNG")
STATUS = (("altlastverdächtige Fläche", 0.70), ("Altlast", 0.12), ("saniert", 0.10),
          ("entlassen", 0.08))
INDUSTRY = ("Tankstelle", "Chemische Reinigung", "Galvanik", "Gaswerk", "Metallverarbeitung",
            "Druckerei", "Schrottplatz", "Kfz-Werkstatt", "Holzimprägnierung", "Lackiererei")


def generate(out_dir: Path, count: int = 1300, seed: int = SEED) -> Path:
    rng = np.random.default_rng(seed)
    landfills = max(34, count * 34 // 1300)
    n = count + landfills
    r = np.abs(rng.normal(0, 2800, n)) + 200
    a = rng.uniform(0, 2 * np.pi, n)
    cx, cy = CENTRE[0] + r * np.cos(a), CENTRE[1] + r * np.sin(a)
    size = np.where(np.arange(n) < count, rng.uniform(15, 80, n), rng.uniform(80, 300, n))
    boxes = shapely.box(cx - size / 2, cy - size / 2, cx + size / 2, cy + size * 0.6)
    b = boxes[MESSY_BOWTIE]  # drawn in the wrong vertex order: a bow tie
    x0, y0, x1, y1 = b.bounds
    boxes[MESSY_BOWTIE] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    gk = shapely.transform(boxes, lambda c: np.column_stack(
        crs.transform_xy(c[:, 0], c[:, 1], crs.STORAGE_CRS, "EPSG:31467")))
    gk[MESSY_SWAPPED] = shapely.transform(gk[MESSY_SWAPPED], lambda c: c[:, ::-1])
    status = rng.choice([s for s, _ in STATUS], n, p=[p for _, p in STATUS])
    kind = np.where(np.arange(n) < count, "Altstandort", "Altablagerung")
    industry = np.where(kind == "Altstandort", rng.choice(INDUSTRY, n), "Hausmülldeponie")
    recorded = pd.to_datetime("1990-01-01") + pd.to_timedelta(rng.integers(0, 12000, n), "D")
    studied = recorded + pd.to_timedelta(rng.integers(100, 3000, n), "D")
    ids = np.arange(1, n + 1)
    akz = [f"ALT-{i:05d}" for i in ids]
    akz[MESSY_DUPLICATE] = akz[MESSY_DUPLICATE - 1]  # entered twice
    municipal = np.where(rng.random(n) < 0.1, "ja", "nein")
    municipal[[MESSY_DUPLICATE - 1, MESSY_DUPLICATE, MESSY_BOWTIE, MESSY_SWAPPED]] = "nein"
    df = pd.DataFrame({
        "AKZ": akz,
        "STATUS": status, "ART": kind, "BRANCHE": industry,
        "ERFASST": recorded.strftime("%d.%m.%Y"), "UNTERSUCHT": studied.strftime("%d.%m.%Y"),
        "STAEDT": municipal,
        "EIGENTUEM": [f"{CANARY}-EIGENTUEMER-{i} Müller" for i in ids],
        "ANSCHRIFT": [f"{CANARY}-ANSCHRIFT-{i} {STREETS[i % len(STREETS)]} {i % 90 + 1}"
                      for i in ids],
        "FLURSTUECK": [f"{CANARY}-FLST-{i} Gemarkung Hildesheim Flur {i % 40 + 1} "
                       f"Flurstück {i % 700 + 1}/{i % 9 + 1}" for i in ids],
        "LAGE": [f"{CANARY}-LAGE-{i} {STREETS[(i * 7) % len(STREETS)]} {i % 120 + 1}"
                 for i in ids],
        "SACHBEARB": [f"{CANARY}-SACHBEARBEITUNG-{i % 5}" for i in ids],
        "BEMERKUNG": [f"{CANARY}-NOTIZ-{i} Verfahren läuft" for i in ids],
    })
    gdf = gpd.GeoDataFrame(df, geometry=list(gk), crs="EPSG:31467")
    path = out_dir / "altlasten.shp"
    write_shapefile(gdf, path, encoding="cp1252", with_cpg=False)
    return path
