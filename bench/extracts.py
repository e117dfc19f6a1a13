"""Open-data extracts (issue 13): generation time and peak memory against ogr2ogr.

    .venv/bin/python bench/extracts.py [--data DIR]

Uses a published data folder (default bench/out/data from bench/run.py: 1M trees). Times
``gdi extracts`` (every format, the data package, checksums, change list) as one process
(wall time and peak RSS, wait4) against Debian's ``ogr2ogr`` writing the same formats from the
same GeoPackage (CSV with WGS84 x/y, GeoJSON RFC 7946, Shapefile, FlatGeobuf; GDAL 3.6 from
Debian has no Parquet driver, so GeoParquet is timed on our side only and the ratio is given
with and without it) and ``sha256sum`` over ogr2ogr's files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from run import measure  # bench/run.py

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "data")
    args = ap.parse_args()
    data = args.data.resolve()
    shutil.rmtree(data / "extracts", ignore_errors=True)
    env = {"GDI_DATA_DIR": str(data)}
    wall, rss = measure([sys.executable, "-m", "gdi.cli", "extracts"], env)
    gpkg = (data / "publish" / "trees" / "current" / "trees.gpkg").resolve()
    latest = (data / "extracts" / "trees" / "latest").resolve()
    package = json.loads((latest / "datapackage.json").read_text(encoding="utf-8"))
    sizes = {r["path"]: r["bytes"] for r in package["resources"]}
    with tempfile.TemporaryDirectory(dir=data) as tmp:
        out = Path(tmp)
        jobs = {
            "csv": ["-f", "CSV", str(out / "t.csv"), str(gpkg), "-t_srs", "EPSG:4326",
                    "-lco", "GEOMETRY=AS_XY"],
            "geojson": ["-f", "GeoJSON", str(out / "t.geojson"), str(gpkg), "-t_srs",
                        "EPSG:4326", "-lco", "RFC7946=YES"],
            "shp": ["-f", "ESRI Shapefile", str(out / "shp"), str(gpkg), "-lco",
                    "ENCODING=UTF-8"],
            "fgb": ["-f", "FlatGeobuf", str(out / "t.fgb"), str(gpkg)],
        }
        base = {}
        for name, opts in jobs.items():
            base[name], _ = measure(["ogr2ogr", *opts])
        shutil.copy(gpkg, out / "t.gpkg")
        files = [str(p) for p in out.rglob("*") if p.is_file()]
        base["sha256sum"], _ = measure(["sha256sum", *files])
    total = sum(base.values())
    report = json.loads((data / "reports" / "trees" / "latest.json").read_text())
    n = report["published"]
    print(f"extracts of {n:,} trees: gdi extracts {wall:.1f} s, peak {rss:.0f} MiB")
    print("ogr2ogr, same formats from the same GeoPackage: " + ", ".join(
        f"{k} {v:.1f} s" for k, v in base.items()) + f"; total {total:.1f} s")
    print(f"ratio {wall / total:.2f}x (gdi also writes GeoParquet, the data package and the "
          "change list); files: " + ", ".join(f"{k} {v / 2**20:.0f} MiB"
                                               for k, v in sizes.items()))


if __name__ == "__main__":
    main()
