"""Deterministic sample of Hildesheim's tree cadastre export, mess included.

As the tree department's GIS exports it: a Shapefile with a CP1252 DBF and no ``.cpg``,
10-character field names, DHDN / Gauss-Krüger zone 3 (EPSG:31467). Species in the variants
real cadastres have, duplicate tree numbers, leading spaces, missing, swapped and far-away
coordinates, impossible planting years, circumferences in metres, broken dates. The inspector
field (internal) carries canary names the leak tests look for.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gdi import crs
from gdi.vio import write_shapefile

CENTRE = (564900.0, 5776100.0)  # Hildesheim, EPSG:25832
AREA = (556000.0, 5767000.0, 574000.0, 5786000.0)
SEED = 2026
INSPECTOR_CANARY = "GEHEIM-KONTROLLEUR"
STREETS = (
    "Almsstraße", "Hoher Weg", "Bahnhofsallee", "Kaiserstraße", "Goschenstraße", "Zingel",
    "Schuhstraße", "Marienburger Straße", "Steuerwalder Straße", "Peiner Straße",
    "Alfelder Straße", "Sedanstraße", "Kennedydamm", "Berliner Straße", "Moritzberger Weg",
    "Bischof-Janssen-Straße", "Senator-Braun-Allee", "Struckmannstraße", "Annenstraße",
    "Dammstraße", "Goslarsche Straße", "Kardinal-Bertram-Straße", "Langer Hagen",
    "Wallstraße", "Friedrich-Nämsch-Park", "Liebesgrund", "Ottoplatz", "Sachsenring",
    "Römerring", "Lucienvörder Allee", "Schützenallee", "Am Flughafen", "Hildesheimer Wald",
    "Ostend", "Cheruskerring", "Immengarten", "Einumer Straße", "Mastbergstraße",
    "Pappelallee", "Weinberg", "Triftstraße", "Hohnsen", "Bavenstedter Straße", "Ochtersumer Feld",
    "Itzumer Hauptstraße", "Sorsumer Hauptstraße", "Himmelsthürer Straße", "Bückebergstraße",
)
DISTRICTS = ("Mitte", "Neustadt", "Oststadt", "Nordstadt", "Weststadt", "Südstadt", "Moritzberg",
             "Ochtersum", "Drispenstedt", "Himmelsthür", "Sorsum", "Neuhof",
             "Marienburger Höhe", "Itzum", "Marienrode", "Achtum-Uppen", "Bavenstedt", "Einum",
             "Steuerwald", "Galgenberg")
# (botanical, German, weight)
SPECIES = (
    ("Tilia cordata", "Winter-Linde", 14), ("Acer platanoides", "Spitz-Ahorn", 12),
    ("Quercus robur", "Stiel-Eiche", 9), ("Acer pseudoplatanus", "Berg-Ahorn", 8),
    ("Carpinus betulus", "Hainbuche", 7), ("Tilia x europaea", "Holländische Linde", 5),
    ("Fraxinus excelsior", "Gemeine Esche", 4), ("Betula pendula", "Hänge-Birke", 4),
    ("Aesculus hippocastanum", "Gewöhnliche Rosskastanie", 4),
    ("Platanus x hispanica", "Ahornblättrige Platane", 3), ("Robinia pseudoacacia", "Robinie", 3),
    ("Prunus avium", "Vogel-Kirsche", 3), ("Sorbus intermedia", "Schwedische Mehlbeere", 3),
    ("Acer campestre", "Feld-Ahorn", 3), ("Fagus sylvatica", "Rot-Buche", 2),
    ("Quercus rubra", "Rot-Eiche", 2), ("Alnus glutinosa", "Schwarz-Erle", 2),
    ("Pinus sylvestris", "Wald-Kiefer", 2), ("Abies alba", "Weiß-Tanne", 2),
    ("Corylus colurna", "Baum-Hasel", 2), ("Ginkgo biloba", "Ginkgo", 1),
    ("Gleditsia triacanthos", "Lederhülsenbaum", 1), ("Salix alba", "Silber-Weide", 1),
    ("Styphnolobium japonicum", "Schnurbaum", 1), ("Zelkova serrata", "Japanische Zelkove", 1),
)
CULTIVARS = {"Tilia cordata": "Rancho", "Acer platanoides": "Columnare",
             "Carpinus betulus": "Fastigiata", "Prunus avium": "Plena",
             "Quercus robur": "Fastigiata", "Tilia x europaea": "Pallida"}


def _species_text(rng: np.random.Generator, n: int) -> np.ndarray:
    weights = np.array([w for *_, w in SPECIES], dtype=float)
    idx = rng.choice(len(SPECIES), size=n, p=weights / weights.sum())
    variant = rng.choice(9, size=n, p=[.58, .10, .08, .08, .06, .03, .02, .03, .02])
    out = np.empty(n, dtype=object)
    for i in range(n):
        bot, ger, _ = SPECIES[idx[i]]
        v = variant[i]
        genus = bot.split()[0]
        if v == 0:
            out[i] = f"{bot}, {ger}"
        elif v == 1:
            out[i] = bot.upper()
        elif v == 2:
            out[i] = f"{bot.lower()}, {ger}"
        elif v == 3:
            cv = CULTIVARS.get(bot)
            out[i] = f"{bot} '{cv}', {ger}" if cv else f"{bot}, {ger}"
        elif v == 4:
            out[i] = f"{bot} {ger}"
        elif v == 5:
            out[i] = f"{genus} spec., {ger.split('-')[-1]}"
        elif v == 6:
            out[i] = ger
        elif v == 7:
            out[i] = "Baumgruppe/flächiger Bestand"
        else:
            out[i] = ""
    return out


def _positions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trees along synthetic streets: (x, y, street index)."""
    n_streets = max(60, n // 80)
    r = np.abs(rng.normal(0, 2600, n_streets)) + 150
    a = rng.uniform(0, 2 * np.pi, n_streets)
    sx, sy = CENTRE[0] + r * np.cos(a), CENTRE[1] + r * np.sin(a)
    heading = rng.uniform(0, np.pi, n_streets)
    street = rng.integers(0, n_streets, n)
    along = rng.uniform(-400, 400, n)
    side = rng.choice([-6.0, 6.0], n) + rng.normal(0, 0.4, n)
    h = heading[street]
    x = sx[street] + along * np.cos(h) - side * np.sin(h)
    y = sy[street] + along * np.sin(h) + side * np.cos(h)
    x = np.clip(x, AREA[0] + 500, AREA[2] - 500)
    y = np.clip(y, AREA[1] + 500, AREA[3] - 500)
    return x, y, street


def generate(out_dir: Path, n: int = 33_000, seed: int = SEED) -> Path:
    """Write ``baumkataster.shp`` (+ .dbf/.shx/.prj, no .cpg) and return its path."""
    rng = np.random.default_rng(seed)
    x, y, street = _positions(rng, n)
    gx, gy = crs.transform_xy(x, y, crs.STORAGE_CRS, "EPSG:31467")
    number = (10_000 + np.arange(n)).astype(str).astype(object)
    lead = rng.random(n) < 0.12
    number[lead] = [" " + s for s in number[lead]]
    year = rng.integers(1890, 2025, n)
    age = 2026 - year
    circ = np.round(np.clip(age * rng.uniform(1.5, 3.2, n), 10, 900)).astype(float)
    crown = np.round(np.clip(age * rng.uniform(0.08, 0.2, n), 1, 30), 1)
    height = np.round(np.clip(age * rng.uniform(0.15, 0.35, n), 2, 40), 1)
    day = pd.to_datetime("2018-01-01") + pd.to_timedelta(rng.integers(0, 2850, n), unit="D")
    inspected = day.strftime("%d.%m.%Y").to_numpy(dtype=object)
    df = pd.DataFrame({
        "BAUMNR": number,
        "BAUMART": _species_text(rng, n),
        "PFLANZJAHR": year.astype(str).astype(object),
        "STAMMUMF": circ,
        "KRONENDM": crown,
        "BAUMHOEHE": height,
        "VITALITAET": rng.choice(["0", "1", "2", "3"], n, p=[.55, .3, .12, .03]).astype(object),
        "KONTROLLE": inspected,
        "STRASSE": np.array(STREETS, dtype=object)[street % len(STREETS)],
        "STADTTEIL": np.array(DISTRICTS, dtype=object)[street % len(DISTRICTS)],
        "KONTROLLEU": [f"{INSPECTOR_CANARY}-{i % 7}" for i in range(n)],
    })
    _mess(rng, df, gx, gy)
    geom = shapely.points(gx, gy)
    geom[np.isnan(gx)] = None
    gdf = gpd.GeoDataFrame(df, geometry=list(geom), crs="EPSG:31467")
    path = out_dir / "baumkataster.shp"
    write_shapefile(gdf, path, encoding="cp1252", with_cpg=False)
    return path


def _mess(rng: np.random.Generator, df: pd.DataFrame, gx: np.ndarray, gy: np.ndarray) -> None:
    n = len(df)

    def pick(share: float) -> np.ndarray:
        return rng.choice(n, size=max(1, int(n * share)), replace=False)

    df.loc[pick(0.001), "PFLANZJAHR"] = "18694"
    df.loc[pick(0.03), "PFLANZJAHR"] = ""
    df.loc[pick(0.002), "STAMMUMF"] = 1.35  # metres, not centimetres
    df.loc[pick(0.001), "KONTROLLE"] = "31.02.2023"
    dup = pick(0.004)  # distinct trees sharing a number
    df.loc[dup, "BAUMNR"] = df.loc[(dup + 1) % n, "BAUMNR"].to_numpy()
    swapped = pick(0.001)
    gx[swapped], gy[swapped] = gy[swapped].copy(), gx[swapped].copy()
    missing = pick(0.001)
    gx[missing], gy[missing] = np.nan, np.nan
    far = pick(0.0005)  # Hannover, outside the city
    gx[far], gy[far] = 3550000.0, 5804000.0
    twice = pick(0.002)  # the same record exported twice
    copies = (twice + 7) % n
    df.iloc[copies] = df.iloc[twice].to_numpy()
    gx[copies], gy[copies] = gx[twice], gy[twice]
