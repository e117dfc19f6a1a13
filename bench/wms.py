"""WMS latency: the project's path (HTTP to nginx -> resident FastCGI mapserv, as
`gdi serve` runs it) against MapServer called directly, served the same way (the same
mapfile and data, resident FastCGI processes started with spawn-fcgi, called over FastCGI
with no front), and against mapserv started per request (CGI).

    .venv/bin/python bench/wms.py [--data DIR] [--requests 30]

Uses a published data folder (default: bench/out/data from bench/run.py, 1M trees, or any
folder from `gdi run --all`). Prints median latencies, what the project's path adds over
direct MapServer (ms and ratio), and the CGI cost.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import fcgi  # bench/fcgi.py

ROOT = Path(__file__).resolve().parent.parent
MAPSERV = "/usr/lib/cgi-bin/mapserv"
REQUESTS = {
    "GetCapabilities": "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities",
    "256 px tile, city centre": "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS="
    "SD.SpeciesDistribution&STYLES=&CRS=EPSG:25832&BBOX=564700,5775900,565100,5776300"
    "&WIDTH=256&HEIGHT=256&FORMAT=image/png",
    "1024 px city-wide": "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS="
    "SD.SpeciesDistribution&STYLES=&CRS=EPSG:25832&BBOX=556000,5767000,574000,5786000"
    "&WIDTH=1024&HEIGHT=1024&FORMAT=image/png",
}


def median_ms(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _direct(conf: Path, processes: int) -> tuple[subprocess.Popen[bytes], int]:
    """Resident mapserv FastCGI processes on the same config, reachable without a front."""
    from gdi.publish.server import free_port

    port = free_port()
    proc = subprocess.Popen(["spawn-fcgi", "-n", "-a", "127.0.0.1", "-p", str(port), "-F",
                             str(processes), "--", MAPSERV],
                            env={**os.environ, "MAPSERVER_CONFIG_FILE": str(conf)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    return proc, port


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "data")
    ap.add_argument("--requests", type=int, default=30)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from gdi.publish.server import free_port

    port = free_port()
    env = {**os.environ, "GDI_DATA_DIR": str(args.data)}
    server = subprocess.Popen([sys.executable, "-m", "gdi.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/wms?"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + REQUESTS["GetCapabilities"], timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        conf = args.data / "run" / "mapserver" / "mapserver.conf"
        direct, port = _direct(conf, processes=2)  # as many as gdi serve starts
        time.sleep(1.0)
        print(f"{'request':26s} {'gdi serve':>10s} {'direct FastCGI':>15s} {'added':>16s} "
              f"{'CGI mapserv':>12s}")
        for name, query in REQUESTS.items():
            ours_body = urllib.request.urlopen(base + query, timeout=60).read()
            _, direct_body = fcgi.get("127.0.0.1", port, "/wms", query)
            if ours_body != direct_body:  # the same answer, or the comparison means nothing
                raise SystemExit(f"{name}: the two paths answer differently")
            ours = median_ms(lambda q=query: urllib.request.urlopen(base + q, timeout=60).read(),
                             args.requests)
            plain = median_ms(lambda q=query: fcgi.get("127.0.0.1", port, "/wms", q),
                              args.requests)
            cgi = median_ms(lambda q=query: subprocess.run(
                [MAPSERV, "-nh", f"QUERY_STRING={q}"], capture_output=True, check=True,
                env={**os.environ, "MAPSERVER_CONFIG_FILE": str(conf)}),
                max(5, args.requests // 3))
            print(f"{name:26s} {ours:8.1f} ms {plain:12.1f} ms {ours - plain:+7.1f} ms "
                  f"({ours / plain:4.2f}x) {cgi:9.1f} ms")
        # FastCGI mapserv ignores SIGTERM while it waits for a request
        os.killpg(direct.pid, signal.SIGKILL)
        direct.wait(timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
