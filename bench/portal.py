"""The citizen portal's page weight (issue 13): every byte a first visit loads, per page.

    .venv/bin/python bench/portal.py [--data DIR]

Starts ``gdi serve`` on a published data folder, loads each portal page (landing, every
dataset page, the accessibility statement) in Debian's headless Chromium with an empty cache
and sums the bodies of every response (HTML, scripts, styles, map images). Prints the pages by
weight, the largest first, and the share of the largest page that is the map library.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "var")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from gdi.publish.server import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gdi.cli", "serve", "--port", str(port)],
                              env={**os.environ, "GDI_DATA_DIR": str(args.data.resolve())},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        pages = [f"{base}/", f"{base}/static/barrierefreiheit.html",
                 *[f"{base}/static/daten/{p.name}" for p in sorted(
                     (args.data / "run" / "static" / "daten").glob("*.html"))]]
        weights = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for url in pages:
                context = browser.new_context()  # an empty cache: a first visit
                page = context.new_page()
                sizes: dict[str, int] = {}

                def record(response, sizes=sizes):  # type: ignore[no-untyped-def]
                    try:
                        sizes[response.url] = len(response.body())
                    except Exception:  # a redirect has no body
                        sizes[response.url] = 0

                page.on("response", record)
                page.goto(url, wait_until="networkidle")
                weights[url] = (sum(sizes.values()), len(sizes),
                                sum(v for k, v in sizes.items() if "/vendor/leaflet/" in k))
                context.close()
            browser.close()
        for url, (total, n, lib) in sorted(weights.items(), key=lambda kv: -kv[1][0]):
            print(f"{total / 1024:8.1f} KB in {n:2d} requests ({lib / 1024:.0f} KB Leaflet)  "
                  f"{url.replace(base, '')}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
