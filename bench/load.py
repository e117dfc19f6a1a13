"""Load, faults and robustness of ``gdi serve`` (issue 9), all in one run on this machine.

1. Mixed workload (OGC API pages, bbox, deep offsets; WMS tiles; GetFeatureInfo; downloads)
   at 10, 50 and 200 concurrent clients: throughput, p50/p95/p99 latency, errors.
2. The OGC API alone against pygeoapi's stock SQLiteGPKG provider on the same GeoPackage at
   the same concurrency (needs ``scripts/setup.sh --bench`` for mod_spatialite): ratio.
3. Recovery: under 10 clients, kill a mapserv, a gunicorn worker, the gunicorn master and
   nginx in turn; the time until the affected path answers 200 again, and the errors meanwhile.
4. schemathesis against the live OpenAPI document at a larger budget than the test suite.

    .venv/bin/python bench/load.py [--data DIR] [--seconds 15] [--write]

The clients are Python threads on the same 2 cores as the server: figures are for comparing
paths and versions on this machine, not absolute capacity.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as baseline  # bench/run.py: the stock pygeoapi server

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PY = sys.executable
WMS = ("/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=SD.SpeciesDistribution&STYLES="
       "&CRS=EPSG:25832&BBOX={x},{y},{x2},{y2}&WIDTH=256&HEIGHT=256&FORMAT=image/png")
MIXED = [
    "/ogcapi/collections/trees/items?limit=50",
    "/ogcapi/collections/trees/items?limit=20&offset=30000",
    "/ogcapi/collections/trees/items?bbox=9.94,52.14,9.96,52.16&limit=100",
    "/ogcapi/collections/playgrounds/items?limit=20",
    *[WMS.format(x=x, y=y, x2=x + 500, y2=y + 500)
      for x in (563000, 564500, 566000) for y in (5775000, 5776500)],
    "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=LU.ExistingLandUse"
    "&QUERY_LAYERS=LU.ExistingLandUse&STYLES=&CRS=EPSG:25832"
    "&BBOX=560000,5770000,570000,5780000&WIDTH=256&HEIGHT=256&I=128&J=128"
    "&INFO_FORMAT=application/json",
    "/downloads/playgrounds/playgrounds.gpkg",
    "/",
]
OGCAPI = ["/collections/trees/items?limit=50",
          "/collections/trees/items?limit=20&offset=30000",
          "/collections/trees/items?bbox=564500,5776000,565000,5776500&bbox-crs="
          "http://www.opengis.net/def/crs/EPSG/0/25832&limit=100"]


def _load(port: int, paths: list[str], clients: int, seconds: float,
          prefix: str = "") -> dict[str, float]:
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local = []
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                conn.request("GET", prefix + rng.choice(paths))
                resp = conn.getresponse()
                resp.read()
                code = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                code = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            local.append((code, time.perf_counter() - t0))
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    lat = sorted(d for _, d in results)
    errors = sum(1 for c, _ in results if c != 200)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {"clients": clients, "requests": len(results), "rps": len(results) / wall,
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "errors": errors}


def _get(port: int, path: str) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return 0


def _pids(data: Path) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads(
        (data / "run" / "pids.json").read_text())["children"].items()}


def _worker_of(master: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                return int(entry.name)
    raise SystemExit("no gunicorn worker")


def recovery(port: int, data: Path) -> dict[str, dict[str, float]]:
    targets = {
        "mapserv (1 of the pool)": (lambda: _pids(data)["wms-1"], MIXED[4]),
        "gunicorn worker": (lambda: _worker_of(_pids(data)["ogcapi"]), MIXED[0]),
        "gunicorn master": (lambda: _pids(data)["ogcapi"], MIXED[0]),
        "nginx master": (lambda: _pids(data)["front"], "/"),
    }
    out = {}
    for name, (pid_of, path) in targets.items():
        box: dict[str, dict[str, float]] = {}

        def load(into: dict[str, dict[str, float]] = box) -> None:
            into["r"] = _load(port, MIXED, 10, 6.0)

        loader = threading.Thread(target=load)
        loader.start()
        time.sleep(1.5)
        os.kill(pid_of(), signal.SIGKILL)
        killed = time.monotonic()
        last_failure = killed
        while time.monotonic() - killed < 4.0:  # probe: when did the path last fail?
            if _get(port, path) != 200:
                last_failure = time.monotonic()
            time.sleep(0.005)
        took = last_failure - killed
        loader.join()
        out[name] = {"recovery_s": took, **box["r"]}
        print(f"  kill {name:26s} last failure after {took * 1000:7.0f} ms; "
              f"{box['r']['errors']} errors in {box['r']['requests']} requests", flush=True)
        time.sleep(2)
    return out


def schemathesis(port: int, examples: int) -> dict[str, object]:
    st = shutil.which("schemathesis") or str(Path(PY).with_name("schemathesis"))
    t0 = time.monotonic()
    proc = subprocess.run([st, "run", f"http://127.0.0.1:{port}/ogcapi/openapi?f=json",
                           "--checks", "not_a_server_error,response_schema_conformance",
                           "--max-examples", str(examples), "--seed", "20261130",
                           "--generation-database", "none", "--request-timeout", "30"],
                          capture_output=True, text=True, cwd=OUT)
    last = [ln for ln in proc.stdout.splitlines() if "generated" in ln]
    return {"ok": proc.returncode == 0, "summary": last[-1].strip(" =") if last else "?",
            "seconds": time.monotonic() - t0}


def _sample(data: Path) -> None:
    env = {**os.environ, "GDI_DATA_DIR": str(data)}
    if (data / "publish" / "trees" / "current").exists():
        return
    for name in ("trees", "playgrounds", "contaminated_sites"):
        subprocess.run([PY, "-m", "gdi.cli", "sample", name], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run([PY, "-m", "gdi.cli", "run", "--all", "-q"], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=OUT / "load-data")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--levels", default="10,50,200")
    ap.add_argument("--examples", type=int, default=150, help="schemathesis per operation")
    ap.add_argument("--write", action="store_true", help="record in bench/RESULTS.md")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    _sample(args.data)
    from gdi.publish.server import free_port

    port = free_port()
    serve = subprocess.Popen([PY, "-m", "gdi.cli", "serve", "--port", str(port)],
                             env={**os.environ, "GDI_DATA_DIR": str(args.data)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stock = None
    levels = [int(v) for v in args.levels.split(",")]
    res: dict[str, object] = {}
    try:
        baseline._wait(f"http://127.0.0.1:{port}/ogcapi/conformance", serve)
        print("mixed workload", flush=True)
        res["mixed"] = [_load(port, MIXED, n, args.seconds) for n in levels]
        for r in res["mixed"]:  # type: ignore[attr-defined]
            print(f"  {r['clients']:4d} clients: {r['rps']:7.1f} req/s, p50 {r['p50_ms']:.0f} "
                  f"p95 {r['p95_ms']:.0f} p99 {r['p99_ms']:.0f} ms, {r['errors']} errors",
                  flush=True)
        print("OGC API: gdi serve against stock pygeoapi", flush=True)
        try:
            stock_port = free_port()
            stock = baseline._start_stock(args.data, stock_port)
            baseline._wait(f"http://127.0.0.1:{stock_port}/collections/trees/items?limit=1",
                           stock)
            pairs = []
            for n in levels:
                a = _load(port, OGCAPI, n, args.seconds, prefix="/ogcapi")
                b = _load(stock_port, OGCAPI, n, args.seconds)
                pairs.append({"clients": n, "gdi": a, "stock": b,
                              "ratio_rps": a["rps"] / max(b["rps"], 1e-9)})
                print(f"  {n:4d} clients: gdi {a['rps']:7.1f} req/s (p50 {a['p50_ms']:.0f} ms)"
                      f", stock {b['rps']:7.1f} req/s (p50 {b['p50_ms']:.0f} ms)", flush=True)
            res["ogcapi_vs_stock"] = pairs
        except (SystemExit, subprocess.CalledProcessError, OSError) as exc:
            print(f"  stock pygeoapi not available ({exc}); run scripts/setup.sh --bench")
            res["ogcapi_vs_stock"] = []
        print("recovery after kills (10 clients)", flush=True)
        res["recovery"] = recovery(port, args.data)
        print("schemathesis", flush=True)
        res["schemathesis"] = schemathesis(port, args.examples)
        print(f"  {res['schemathesis']}", flush=True)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        if stock is not None:
            stock.terminate()
            stock.wait(timeout=30)
    (OUT / "load.json").write_text(json.dumps(res, indent=1))
    if args.write:
        _write(res, args.seconds)


def _write(res: dict[str, object], seconds: float) -> None:
    lines = ["## Load, faults and robustness (`bench/load.py`)", "",
             f"One run on this machine (2 cores, clients and server sharing them), {seconds:.0f} s "
             "per level, sample data at the city's size. Mixed workload: OGC API pages, bbox and "
             "deep offsets, WMS tiles, GetFeatureInfo (JSON), downloads, the landing page.", "",
             "| clients | req/s | p50 ms | p95 ms | p99 ms | errors / requests |",
             "|---|---|---|---|---|---|"]
    for r in res["mixed"]:  # type: ignore[attr-defined]
        lines.append(f"| {r['clients']} | {r['rps']:.0f} | {r['p50_ms']:.0f} | "
                     f"{r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['errors']} / "
                     f"{r['requests']} |")
    pairs = res.get("ogcapi_vs_stock") or []
    if pairs:
        lines += ["", "OGC API only (trees: page, deep offset, 500 m bbox), against stock "
                  "pygeoapi SQLiteGPKG on the same GeoPackage, same concurrency:", "",
                  "| clients | gdi req/s | gdi p95 ms | stock req/s | stock p95 ms | ratio |",
                  "|---|---|---|---|---|---|"]
        for p in pairs:  # type: ignore[attr-defined]
            a, b = p["gdi"], p["stock"]
            lines.append(f"| {p['clients']} | {a['rps']:.0f} | {a['p95_ms']:.0f} | "
                         f"{b['rps']:.0f} | {b['p95_ms']:.0f} | {p['ratio_rps']:.1f}x |")
    lines += ["", "Recovery under 10 clients (SIGKILL; a probe asks the affected path every 5 ms "
              "for 4 s: the time of its last failure after the kill, 0 if none). Refused "
              "connections fail in microseconds, so a short gap counts many errors:", "",
              "| killed | last failure after | errors / requests in 6 s |",
              "|---|---|---|"]
    for name, r in res["recovery"].items():  # type: ignore[attr-defined]
        lines.append(f"| {name} | {r['recovery_s'] * 1000:.0f} ms | {r['errors']} / "
                     f"{r['requests']} |")
    s = res["schemathesis"]
    lines += ["", f"schemathesis (not_a_server_error, response_schema_conformance; seed "
              f"20261130): {s['summary']} ({'pass' if s['ok'] else 'FAIL'}), "  # type: ignore[index]
              f"{s['seconds']:.0f} s.", ""]  # type: ignore[index]
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    marker = "## Load, faults and robustness"
    if marker in text:
        head, _, rest = text.partition(marker)
        tail = rest.split("\n## ", 1)
        text = head + "\n".join(lines) + (("\n## " + tail[1]) if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
