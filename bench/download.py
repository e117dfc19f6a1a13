"""Download services (issue 12): Atom generation time, and WFS GetFeature latency.

    .venv/bin/python bench/download.py [--data DIR] [--requests 20]

1. Atom: the service feed, every dataset feed (German and English), the OpenSearch
   description and the search index for all datasets of a published data folder, built from
   the catalogue's dataset entries (the records' facts are read once, as the catalogue build
   does), timed in this process; against the whole catalogue build (``gdi catalogue``: every
   record, XSD and rule checks, pycsw repository, HTML pages and the Atom documents) in the
   same run.
2. WFS: GetFeature of 1,000 trees paged (10 pages of COUNT=100 with STARTINDEX, GML 3.2)
   through ``gdi serve`` (HTTP -> nginx -> resident FastCGI mapserv) against MapServer called
   directly over FastCGI with no front (bench/wms.py's baseline), after checking that both
   answer the same features.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import fcgi  # bench/fcgi.py
from wms import _direct, median_ms  # bench/wms.py

ROOT = Path(__file__).resolve().parent.parent
PAGES = [f"SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=ms:trees&COUNT=100"
         f"&STARTINDEX={start}" for start in range(0, 1000, 100)]
_STAMP = re.compile(rb'timeStamp="[^"]*"')


def atom(data: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["GDI_DATA_DIR"] = str(data)
    from gdi.metadata import catalogue
    from gdi.metadata.context import Context
    from gdi.publish.atom import feeds
    from gdi.settings import Settings

    settings = Settings()
    ctx = Context.from_settings(settings)
    previous = catalogue.read_state(catalogue.live(settings))
    ledger = {k: dict(v) for k, v in previous["ledger"].items()}
    t = time.perf_counter()
    entries = catalogue._entries(settings, ctx, ledger, previous["records"], "2026-01-01")
    facts_s = time.perf_counter() - t
    ids = {k: v["file_identifier"] for k, v in ledger.items()}
    times = []
    for _ in range(5):
        t = time.perf_counter()
        docs = feeds.documents(entries, ctx, ids, None)
        times.append(time.perf_counter() - t)
    size = sum(len(d) for d in docs.values())
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gdi.cli", "catalogue"], check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ})
    whole = time.perf_counter() - t
    print(f"Atom: {len(docs)} documents ({size / 1024:.0f} KiB) for {len(entries)} datasets "
          f"in {min(times) * 1000:.1f} ms (facts of the releases read once: "
          f"{facts_s * 1000:.0f} ms); whole catalogue build (gdi catalogue process): "
          f"{whole:.2f} s")


def wfs(data: Path, requests: int) -> None:
    from gdi.publish.server import free_port

    port = free_port()
    env = {**os.environ, "GDI_DATA_DIR": str(data)}
    server = subprocess.Popen([sys.executable, "-m", "gdi.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    direct = None
    try:
        base = f"http://127.0.0.1:{port}/wfs?"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "SERVICE=WFS&REQUEST=GetCapabilities",
                                       timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        conf = data / "run" / "mapserver" / "mapserver.conf"
        direct, dport = _direct(conf, processes=2)
        time.sleep(1.0)
        for query in PAGES:  # the same features both ways (the time stamp aside)
            ours = urllib.request.urlopen(base + query, timeout=60).read()
            _, plain = fcgi.get("127.0.0.1", dport, "/wfs", query)
            if _STAMP.sub(b"", ours) != _STAMP.sub(b"", plain) or b"numberReturned=\"100\"" \
                    not in ours:
                raise SystemExit(f"{query}: the two paths answer differently")

        def through_gdi() -> None:
            for q in PAGES:
                urllib.request.urlopen(base + q, timeout=60).read()

        def straight() -> None:
            for q in PAGES:
                fcgi.get("127.0.0.1", dport, "/wfs", q)

        ours_ms = median_ms(through_gdi, requests)
        plain_ms = median_ms(straight, requests)
        print(f"WFS GetFeature, 1,000 trees in 10 pages: gdi serve {ours_ms:.1f} ms, direct "
              f"FastCGI {plain_ms:.1f} ms, added {ours_ms - plain_ms:+.1f} ms "
              f"({ours_ms / plain_ms:.2f}x)")
    finally:
        if direct is not None:
            os.killpg(direct.pid, signal.SIGKILL)
            direct.wait(timeout=10)
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "data")
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    atom(args.data)
    wfs(args.data, args.requests)


if __name__ == "__main__":
    main()
