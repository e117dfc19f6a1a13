"""Issue 9, resilience: gdi serve heals itself, never leaves orphans, stops quickly, and a
load with process kills and a publication swap loses (almost) nothing.

Each test runs its own gdi serve on a copy of the published data, so killing processes here
never disturbs the other tests' server.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import GDI, INTERNAL, ROOT, SHARED, Published, copy_tree, free_port, gdi


@dataclass
class Own:
    proc: subprocess.Popen[str]
    base: str
    data: Path
    port: int

    def pids(self) -> dict[str, int]:
        doc = json.loads((self.data / "run" / "pids.json").read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in doc["children"].items()}

    def group(self) -> int:
        return int(json.loads((self.data / "run" / "pids.json").read_text())["group"])


def _env(data: Path) -> dict[str, str]:
    return {**os.environ, "GDI_DATA_DIR": str(data), "GDI_SHARED_DIR": str(SHARED),
            "GDI_INTERNAL_USER": INTERNAL[0], "GDI_INTERNAL_PASSWORD": INTERNAL[1]}


def _start(data: Path, port: int) -> Own:
    proc = subprocess.Popen([*GDI, "serve", "--port", str(port)], cwd=ROOT, env=_env(data),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            with urllib.request.urlopen(f"{base}/ogcapi/collections", timeout=2):
                break
        except OSError:
            assert time.monotonic() < deadline, "gdi serve did not come up"
            time.sleep(0.2)
    own = Own(proc, base, data, port)
    while not (data / "run" / "pids.json").exists():
        time.sleep(0.05)
    return own


def _stop(own: Own) -> float:
    started = time.monotonic()
    if own.proc.poll() is None:
        own.proc.send_signal(signal.SIGTERM)
        own.proc.wait(timeout=30)
    return time.monotonic() - started


@pytest.fixture
def own(published: Published, tmp_path: Path) -> Iterator[Own]:
    data = copy_tree(published.data_dir, tmp_path / "data")
    server = _start(data, free_port())
    yield server
    _stop(server)


def _status(url: str, timeout: float = 10) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, http.client.HTTPException):  # refused, reset, or cut off mid-body
        return 0


WMS = ("/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=SD.SpeciesDistribution&STYLES="
       "&CRS=EPSG:25832&BBOX=564000,5776000,565000,5777000&WIDTH=256&HEIGHT=256"
       "&FORMAT=image/png")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is dead (this container's init may not reap it)


def _wait_for(pred, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_a_killed_mapserv_is_replaced_while_the_pool_serves(own: Own) -> None:
    pids = own.pids()
    pool = sorted(n for n in pids if n.startswith("wms-") and "internal" not in n)
    assert len(pool) >= 2, pids
    os.kill(pids[pool[0]], signal.SIGKILL)
    statuses = [_status(own.base + WMS) for _ in range(20)]
    assert statuses.count(200) == 20, Counter(statuses)
    assert _wait_for(lambda: own.pids().get(pool[0]) not in (None, pids[pool[0]]), 5)
    log = (own.data / "run" / "logs" / "supervisor.log").read_text()
    assert f"{pool[0]} (pid {pids[pool[0]]}) exited with signal 9" in log
    assert f"{pool[0]} restarted" in log


def test_killed_gunicorn_master_and_nginx_are_restarted(own: Own) -> None:
    for name, path in (("ogcapi", "/ogcapi/collections"), ("atom", "/atom/search?q=trees"),
                       ("csw", "/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetCapabilities"),
                       ("front", "/")):
        before = own.pids()[name]
        os.kill(before, signal.SIGKILL)
        assert _wait_for(lambda n=name, b=before: own.pids().get(n) not in (None, b), 5), name
        assert _wait_for(lambda p=path: _status(own.base + p, 2) == 200, 5), name
    # no orphaned nginx worker of the killed master still holds the port
    holders = subprocess.run(["ss", "-ltnp", f"sport = :{own.port}"], capture_output=True,
                             text=True).stdout
    front = own.pids()["front"]
    for part in holders.split("pid=")[1:]:
        pid = int(part.split(",")[0])
        assert pid in (front, own.proc.pid) or _parent(pid) == front, holders


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_children_never_outlive_a_killed_gdi_serve(own: Own) -> None:
    pids = own.pids()
    group = own.group()
    members = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
               and _pgid(int(p.name)) == group]
    assert len(members) > len(pids)  # workers and the reaper besides the direct children
    own.proc.kill()  # SIGKILL: no cleanup code of gdi serve runs
    own.proc.wait(timeout=10)
    assert _wait_for(lambda: not any(_alive(p) for p in members), 5), [
        p for p in members if _alive(p)]
    with socket.socket() as s:  # the port is free again for the next start
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", own.port))
    again = _start(own.data, own.port)  # a new gdi serve starts cleanly on the same folder
    assert _stop(again) < 2.0


def _pgid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except OSError:
        return -1


def test_clean_stop_is_quick_and_complete(own: Own) -> None:
    pids = list(own.pids().values())
    _status(own.base + WMS)
    took = _stop(own)
    assert own.proc.returncode == 0
    assert took < 2.0, took
    assert not [p for p in pids if _alive(p)]


def test_a_taken_port_is_named_and_refused(published: Published, tmp_path: Path) -> None:
    data = copy_tree(published.data_dir, tmp_path / "data")  # not the session server's
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        proc = gdi("serve", "--port", str(port), "--check", data_dir=data, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"port {port} on 127.0.0.1 is taken" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_verifies_the_processes_are_its_own(published: Published, tmp_path: Path
                                                  ) -> None:
    from gdi.publish.server import Services
    from gdi.settings import Settings

    data = copy_tree(published.data_dir, tmp_path / "data")
    settings = Settings(data_dir=data, shared_dir=SHARED, port=free_port())
    bystander = subprocess.Popen(["sleep", "60"])  # another child of this process
    with Services(settings) as services:
        assert services.verify() == []
        sock = data / "run" / "sockets" / "wms.sock"
        sock.unlink()  # someone else's socket in its place
        intruder = socket.socket(socket.AF_UNIX)
        intruder.bind(str(sock))
        try:
            problems = services.verify()
        finally:
            intruder.close()
        assert any("wms.sock is not the one this gdi serve listens on" in p for p in problems)
    # the supervisor kills orphans of its own process group only, never a bystander
    assert bystander.poll() is None
    bystander.kill()
    bystander.wait()


# --- load with faults -------------------------------------------------------------------

def _workload(base: str) -> list[str]:
    tiles = [WMS.replace("564000,5776000,565000,5777000",
                         f"{x},{y},{x + 500},{y + 500}")
             for x in range(562000, 568000, 1500) for y in range(5774000, 5780000, 1500)]
    return [
        "/ogcapi/collections/trees/items?limit=50",
        "/ogcapi/collections/trees/items?limit=20&offset=30000",
        "/ogcapi/collections/trees/items?bbox=9.94,52.14,9.96,52.16&limit=100",
        "/ogcapi/collections/playgrounds/items?limit=20",
        *tiles[:6],
        "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=LU.ExistingLandUse"
        "&QUERY_LAYERS=LU.ExistingLandUse&STYLES=&CRS=EPSG:25832"
        "&BBOX=560000,5770000,570000,5780000&WIDTH=256&HEIGHT=256&I=128&J=128"
        "&INFO_FORMAT=text/html",
        "/downloads/playgrounds/playgrounds.gpkg",
        "/",
    ]


def test_load_with_kills_and_a_publication_swap(own: Own) -> None:
    paths = _workload(own.base)
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            path = rng.choice(paths)
            t0 = time.monotonic()
            code = _status(own.base + path, timeout=15)
            with lock:
                results.append((code, time.monotonic() - t0))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        os.kill(own.pids()["wms-1"], signal.SIGKILL)
        time.sleep(2)
        worker = _gunicorn_worker(own.pids()["ogcapi"])
        os.kill(worker, signal.SIGKILL)
        time.sleep(2)
        os.kill(own.pids()["ogcapi"], signal.SIGKILL)
        time.sleep(2)
        os.kill(own.pids()["front"], signal.SIGKILL)  # nginx: the port stays open meanwhile
        time.sleep(2)
        swap = gdi("run", "playgrounds", "-q", data_dir=own.data, check=False)
        assert swap.returncode == 0, swap.stderr
        time.sleep(3)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    codes = Counter(c for c, _ in results)
    total = len(results)
    failed = total - codes[200]
    print(f"load: {total} requests, {dict(codes)}, slowest {max(d for _, d in results):.2f} s")
    assert total > 200, codes
    assert max(d for _, d in results) < 15.5  # nothing hangs beyond the client's timeout
    assert failed <= max(5, total // 100), (codes, total)  # <= 1 % (or 5) of requests
    # recovered: every path answers again
    for path in paths:
        assert _status(own.base + path) == 200, path


def _gunicorn_worker(master: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            try:
                if _parent(int(entry.name)) == master:
                    return int(entry.name)
            except OSError:
                continue
    raise AssertionError("no gunicorn worker found")
