"""Benchmark: LoD2 ingest of the real AdV tiles replicated to the city's size, against GDAL's
GML driver (``ogr2ogr``) reading the same files, in the same run.

    .venv/bin/python bench/lod2.py [--buildings 45000] [--reference 40] [--write]

1. The larger real NRW tile (shared/real-data/3d, 106 buildings, 24 parts) linked N times
   into one folder until the folder holds ``--buildings`` buildings.
2. ``gdi.city3d.lod2.read`` (what a buildings run does with the state's tiles: streaming
   parse, xlink-resolved solids, footprints, the structural check of every solid) in its own
   process: wall time, buildings/s, MB/s, peak RSS.
3. The reference: ``ogr2ogr`` (GDAL's GML driver) converting the first ``--reference`` of the
   same files to one GeoPackage, and our reader on the same files: the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import measure, record  # bench/common.py (run as bench/<name>.py)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "lod2"
PY = sys.executable
TILE = "LoD2_32_339_5727_1_NW.gml"

READ = """
import sys, time
from pathlib import Path
from gdi.city3d import lod2
from gdi.descriptor import Lod2Spec
t = time.perf_counter()
models, stats = lod2.read(Lod2Spec(path=Path(sys.argv[1]), pattern="*.gml"))
print(time.perf_counter() - t, stats["read_buildings"], stats["read_parts"],
      stats["solids_with_problems"])
"""


def folder(copies: int, name: str, shared: Path) -> tuple[Path, float]:
    path = OUT / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    src = (shared / "real-data" / "3d" / TILE).read_bytes()
    for i in range(copies):  # each copy its own ids, as distinct buildings of a state
        data = src.replace(b'gml:id="', f'gml:id="c{i}_'.encode()).replace(
            b'xlink:href="#', f'xlink:href="#c{i}_'.encode())
        (path / f"LoD2_{i:05d}.gml").write_bytes(data)
    return path, copies * len(src) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--buildings", type=int, default=45_000)
    ap.add_argument("--reference", type=int, default=40)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    shared = Path(os.environ.get("GDI_SHARED_DIR", ROOT.parent / "shared"))
    copies = -(-args.buildings // 106)
    city, mb = folder(copies, "city", shared)
    wall, rss, out = measure([PY, "-c", READ, str(city)])
    _secs, buildings, parts, problems = out.split()
    b = int(buildings)
    print(f"ours, {copies} tiles: {wall:.1f} s, {b / wall:,.0f} buildings/s, "
          f"{mb / wall:.1f} MB/s, peak {rss:.0f} MiB", flush=True)
    ref, ref_mb = folder(args.reference, "reference", shared)
    gpkg = OUT / "ogr2ogr.gpkg"
    gpkg.unlink(missing_ok=True)
    files = sorted(ref.glob("*.gml"))
    start = time.perf_counter()
    for f in files:  # one process per file: ogr2ogr has no multi-file GML input
        subprocess.run(["ogr2ogr", "-f", "GPKG", "-append", str(gpkg), str(f)], check=True,
                       capture_output=True)
    o_wall = time.perf_counter() - start
    r_wall, _, _ = measure([PY, "-c", READ, str(ref)])
    lines = [
        f"### LoD2 ingest ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores)",
        f"- the real NRW tile {TILE} x {copies} = {b:,} buildings, {int(parts):,} solids, "
        f"{mb:.0f} MB: {wall:.1f} s, **{b / wall:,.0f} buildings/s, {mb / wall:.1f} MB/s**, "
        f"peak {rss:.0f} MiB (streaming parse, xlink solids, footprints, every solid "
        f"checked: {int(problems):,} with problems, reported)",
        f"- reference, {args.reference} of the files ({ref_mb:.0f} MB): ogr2ogr (GDAL GML "
        f"driver, one process per file, to one GeoPackage) {o_wall:.1f} s; ours {r_wall:.1f} s "
        f"(one process with start-up): **{o_wall / r_wall:.2f}x**",
    ]
    record(lines, args.write)


if __name__ == "__main__":
    main()
