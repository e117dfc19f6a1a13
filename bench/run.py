"""Benchmark: ETL at Berlin scale and OGC API latency, against baselines in the same run.

    .venv/bin/python bench/run.py [--trees 1000000] [--requests 30]

1. Generates N trees in the tree department's messy source format (Shapefile, CP1252 DBF,
   Gauss-Krüger) with the project's own generator.
2. ETL: ``gdi run trees`` (read, clean, BETA2007 transformation, GeoPackage, INSPIRE GML, XSD
   validation) against ``ogr2ogr`` converting the same Shapefile to a GeoPackage with the same
   reprojection: wall time and peak RSS of each process (``wait4``), and their ratio.
3. OGC API: median latency of items requests (limit=100, a 500 m bbox, offset 900,000) through
   ``gdi serve`` against pygeoapi's stock SQLiteGPKG provider on the same GeoPackage (run with
   pysqlite3 and mod_spatialite, which the stock provider needs).
Prints the figures; ``--write`` also records them in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PY = sys.executable


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB) of that process and its children."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def etl(n: int) -> dict[str, float]:
    data = OUT / "data"
    if data.exists():
        shutil.rmtree(data)
    env = {"GDI_DATA_DIR": str(data)}
    print(f"generating {n:,} trees ...", flush=True)
    subprocess.run([PY, "-m", "gdi.cli", "sample", "trees", "-n", str(n)], check=True,
                   env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    shp = data / "sources" / "trees" / "baumkataster.shp"
    baseline = OUT / "ogr2ogr.gpkg"
    baseline.unlink(missing_ok=True)
    print("ogr2ogr baseline ...", flush=True)
    o_wall, o_rss = measure(["ogr2ogr", "-f", "GPKG", str(baseline), str(shp), "-s_srs",
                             "EPSG:31467", "-t_srs", "EPSG:25832", "-nln", "trees"],
                            {"SHAPE_ENCODING": "CP1252"})
    # the same outputs' count as far as ogr2ogr can go: a GeoPackage in each download CRS
    second = OUT / "ogr2ogr.4258.gpkg"
    second.unlink(missing_ok=True)
    o2_wall, _ = measure(["ogr2ogr", "-f", "GPKG", str(second), str(shp), "-s_srs",
                          "EPSG:31467", "-t_srs", "EPSG:4258", "-nln", "trees"],
                         {"SHAPE_ENCODING": "CP1252"})
    print("gdi run trees ...", flush=True)
    g_wall, g_rss = measure([PY, "-m", "gdi.cli", "run", "trees", "-q"], env)
    report = json.loads((data / "reports" / "trees" / "latest.json").read_text())
    return {"trees": n, "published": report["published"], "rejected": report["rejected"],
            "inspire_members": report["inspire"]["members"], "ogr2ogr_s": o_wall,
            "ogr2ogr_rss_mib": o_rss, "gdi_s": g_wall, "gdi_rss_mib": g_rss,
            "ratio": g_wall / o_wall, "ogr2ogr_both_s": o_wall + o2_wall,
            "ratio_both": g_wall / (o_wall + o2_wall),
            **{f"stage:{k}": v for k, v in report["timings"].items()}}


def cadastres(playgrounds: int, sites: int) -> dict[str, dict[str, float]]:
    """The other cadastres at 10x the city's size: ETL time and peak memory per dataset."""
    data = OUT / "cadastres"
    if data.exists():
        shutil.rmtree(data)
    env = {"GDI_DATA_DIR": str(data)}
    for name, n in (("playgrounds", playgrounds), ("contaminated_sites", sites)):
        subprocess.run([PY, "-m", "gdi.cli", "sample", name, "-n", str(n)],
                       check=True, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    out = {}
    for dataset in ("playgrounds", "playground_equipment", "contaminated_sites"):
        wall, rss = measure([PY, "-m", "gdi.cli", "run", dataset, "-q"], env)
        report = json.loads((data / "reports" / dataset / "latest.json").read_text())
        out[dataset] = {"read": report["read"], "published": report["published"],
                        "seconds": wall, "rss_mib": rss}
        print(f"  {dataset:22s} read {report['read']:7,}  {wall:6.1f} s  {rss:6.0f} MiB",
              flush=True)
    return out


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server exited while starting: {url}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url}")


def _median_ms(url: str, n: int) -> float:
    times = []
    urllib.request.urlopen(url, timeout=120).read()  # warm-up
    for _ in range(n):
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as resp:
            resp.read()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


QUERIES = {
    "limit=100": "limit=100",
    "bbox 500 m": "bbox=564500,5776000,565000,5776500&bbox-crs="
                  "http://www.opengis.net/def/crs/EPSG/0/25832&limit=100",
    "offset 900,000": "offset=900000&limit=100",
}


def latency(n_requests: int) -> dict[str, dict[str, float]]:
    from gdi.publish.server import free_port

    data = OUT / "data"
    port = free_port()
    ours = subprocess.Popen([PY, "-m", "gdi.cli", "serve", "--port", str(port)],
                            env={**os.environ, "GDI_DATA_DIR": str(data)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stock_port = free_port()
    stock = _start_stock(data, stock_port)
    results: dict[str, dict[str, float]] = {}
    try:
        base = f"http://127.0.0.1:{port}/ogcapi/collections/trees/items?"
        stock_base = f"http://127.0.0.1:{stock_port}/collections/trees/items?"
        _wait(base + "limit=1", ours)
        _wait(stock_base + "limit=1", stock)
        for name, query in QUERIES.items():
            a = _median_ms(base + query, n_requests)
            b = _median_ms(stock_base + query, max(3, n_requests // 5))
            results[name] = {"gdi_ms": a, "stock_ms": b, "speedup": b / a}
            print(f"  {name:16s} gdi {a:8.1f} ms   stock {b:8.1f} ms", flush=True)
    finally:
        for p in (ours, stock):
            p.terminate()
            p.wait(timeout=30)
    return results


def _start_stock(data: Path, port: int) -> subprocess.Popen[bytes]:
    """pygeoapi 0.24 with its stock SQLiteGPKG provider on the same GeoPackage."""
    import yaml

    run = OUT / "stock"
    run.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load((data / "run" / "pygeoapi.yml").read_text()) if (
        data / "run" / "pygeoapi.yml").exists() else None
    if cfg is None:
        from gdi.publish import ogcapi
        from gdi.settings import Settings

        cfg = ogcapi.render(Settings(data_dir=data))
    cfg["server"]["url"] = f"http://127.0.0.1:{port}"
    provider = cfg["resources"]["trees"]["providers"][0]
    provider.update({"name": "SQLiteGPKG", "table": "trees", "id_field": "fid",
                     "data": str((data / "publish" / "trees" / "current" / "trees.gpkg")
                                 .resolve())})
    provider.pop("options", None)
    (run / "pygeoapi.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    generate = ("import json, sys, yaml, pysqlite3\n"
                "sys.modules['sqlite3'] = pysqlite3\n"
                "from pygeoapi.openapi import get_oas\n"
                "cfg = yaml.safe_load(open(sys.argv[1]))\n"
                "json.dump(get_oas(cfg), open(sys.argv[2], 'w'))\n")
    subprocess.run([PY, "-c", generate, str(run / "pygeoapi.yml"), str(run / "openapi.json")],
                   check=True, env={**os.environ, "PYGEOAPI_CONFIG": str(run / "pygeoapi.yml"),
                                    "PYGEOAPI_OPENAPI": str(run / "openapi.json"),
                                    "PYTHONPATH": str(ROOT / "bench")})
    env = {**os.environ, "PYGEOAPI_CONFIG": str(run / "pygeoapi.yml"),
           "PYGEOAPI_OPENAPI": str(run / "openapi.json"), "PYTHONPATH": str(ROOT / "bench")}
    gunicorn = str(Path(PY).with_name("gunicorn"))
    return subprocess.Popen([gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2",
                             "--threads", "4", "--worker-class", "gthread", "stock_app:APP"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trees", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--playgrounds", type=int, default=1570, help="10x the city's 157")
    ap.add_argument("--sites", type=int, default=13000, help="10x the city's ~1,300")
    ap.add_argument("--write", action="store_true", help="record in bench/RESULTS.md")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    e = etl(args.trees)
    print(f"ETL {e['trees']:,} trees: gdi {e['gdi_s']:.1f} s, peak {e['gdi_rss_mib']:.0f} MiB | "
          f"ogr2ogr {e['ogr2ogr_s']:.1f} s, peak {e['ogr2ogr_rss_mib']:.0f} MiB | "
          f"ratio {e['ratio']:.2f}x (target <= 3x, <= 2048 MiB) | ogr2ogr in both download "
          f"CRSs {e['ogr2ogr_both_s']:.1f} s, ratio {e['ratio_both']:.2f}x")
    print("OGC API items latency (median):")
    lat = latency(args.requests)
    print(f"Other cadastres at 10x ({args.playgrounds:,} playgrounds, {args.sites:,} sites):")
    cad = cadastres(args.playgrounds, args.sites)
    if args.write:
        _write(e, lat, cad)


def _write(e: dict[str, float], lat: dict[str, dict[str, float]],
           cad: dict[str, dict[str, float]]) -> None:
    lines = [
        "# Benchmark results", "",
        f"Recorded by `bench/run.py --trees {int(e['trees'])}` on {platform.node()} "
        f"({os.cpu_count()} cores), {time.strftime('%Y-%m-%d')}.", "",
        "## ETL (one process each, same Shapefile, same reprojection EPSG:31467 -> 25832)", "",
        "| | wall time | peak RSS |", "|---|---|---|",
        f"| `ogr2ogr` Shapefile -> GeoPackage | {e['ogr2ogr_s']:.1f} s | "
        f"{e['ogr2ogr_rss_mib']:.0f} MiB |",
        f"| `gdi run trees` (read, clean, BETA2007, GeoPackage and INSPIRE GML each in "
        f"EPSG:25832 and EPSG:4258, XSD) | "
        f"{e['gdi_s']:.1f} s | {e['gdi_rss_mib']:.0f} MiB |",
        f"| ratio | **{e['ratio']:.2f}x** (target <= 3x) | target <= 2048 MiB |",
        f"| `ogr2ogr` twice: a GeoPackage in EPSG:25832 and one in EPSG:4258 | "
        f"{e['ogr2ogr_both_s']:.1f} s | |",
        f"| ratio to the two | **{e['ratio_both']:.2f}x** | |", "",
        f"Published {int(e['published']):,}, rejected {int(e['rejected']):,}, INSPIRE members "
        f"{int(e['inspire_members']):,}. Peak RSS is that of the `gdi` process (`wait4`); the "
        "XSD validators run beside it as separate processes with flat memory: one follows the "
        "EPSG:25832 GML while it is written (the second core), the other validates the "
        "EPSG:4258 GML (written in the same pass) while the GeoPackages are written. "
        "`ogr2ogr` writes one GeoPackage in one CRS; `gdi run` writes two GeoPackages and two "
        "GML files (issue 12's download CRSs), so the ratio compares more work with less.", "",
        "Stages of `gdi run` (seconds, from the run report): " + ", ".join(
            f"{k.split(':', 1)[1]} {v:.1f}" for k, v in e.items() if k.startswith("stage:"))
        + ".", "",
        "## OGC API Features items, median latency on the same GeoPackage", "",
        "| request | gdi serve (nginx + pygeoapi + GpkgProvider) | stock pygeoapi SQLiteGPKG | "
        "stock / gdi |", "|---|---|---|---|",
        *[f"| {k} | {v['gdi_ms']:.1f} ms | {v['stock_ms']:.1f} ms | {v['speedup']:.1f}x |"
          for k, v in lat.items()], "",
        "## Other cadastres at 10x the city's size (whole `gdi run` process each)", "",
        "| dataset | read | published | wall time | peak RSS |", "|---|---|---|---|---|",
        *[f"| {k} | {int(v['read']):,} | {int(v['published']):,} | {v['seconds']:.1f} s | "
          f"{v['rss_mib']:.0f} MiB |" for k, v in cad.items()], "",
    ]
    results = ROOT / "bench" / "RESULTS.md"
    old = results.read_text(encoding="utf-8") if results.exists() else ""
    wms = old.find("## WMS")  # recorded by bench/wms.py: kept
    results.write_text("\n".join(lines) + ("\n" + old[wms:] if wms != -1 else ""), encoding="utf-8")


if __name__ == "__main__":
    main()
