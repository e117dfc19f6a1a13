"""Shared fixtures: a data folder with the published sample, and the real services on it.

Everything runs through the real ``gdi`` command and real servers on 127.0.0.1: no mocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

collect_ignore = ["clients"]  # scripts run by other interpreters (PyQGIS), not test modules
ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GDI_SHARED_DIR", ROOT.parent / "shared"))
GDI = [sys.executable, "-m", "gdi.cli"]
INTERNAL = ("planungsamt", "test-only: not a real password")


def gdi(*args: str, data_dir: Path, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "GDI_DATA_DIR": str(data_dir), "GDI_SHARED_DIR": str(SHARED),
                **(env or {})}
    proc = subprocess.run([*GDI, *args], capture_output=True, text=True, env=full_env,
                          cwd=ROOT, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"gdi {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass(frozen=True)
class Published:
    data_dir: Path
    reports: dict[str, dict[str, Any]]

    @property
    def report(self) -> dict[str, Any]:
        return self.reports["trees"]

    def release(self, dataset: str = "trees") -> Path:
        return (self.data_dir / "publish" / dataset / "current").resolve()


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    data = tmp_path_factory.mktemp("gdi-data")
    gdi("sample", "trees", data_dir=data)
    gdi("sample", "playgrounds", data_dir=data)
    gdi("sample", "contaminated_sites", data_dir=data)
    gdi("sample", "buildings", "--count", "1500", data_dir=data)  # a small town (3 km²)
    report_file = data / "run-report.json"
    gdi("run", "--all", "-q", "--report", str(report_file), data_dir=data)
    reports = json.loads(report_file.read_text(encoding="utf-8"))
    return Published(data, {r["dataset"]: r for r in reports})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str
    data_dir: Path

    @property
    def ogcapi(self) -> str:
        return f"{self.base}/ogcapi"


@pytest.fixture(scope="session")
def server(published: Published) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "GDI_DATA_DIR": str(published.data_dir),
           "GDI_SHARED_DIR": str(SHARED), "GDI_INTERNAL_USER": INTERNAL[0],
           "GDI_INTERNAL_PASSWORD": INTERNAL[1]}
    proc = subprocess.Popen([*GDI, "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"gdi serve exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(f"{base}/ogcapi/collections", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("gdi serve did not come up") from None
            time.sleep(0.3)
    yield Server(base, published.data_dir)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, "gdi serve did not shut down cleanly"


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read())


def http_body(url: str) -> bytes:
    """The body of a GET, also for error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return bytes(exc.read())


def http_status(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@contextlib.contextmanager
def serve(data_dir: Path, env: dict[str, str] | None = None, port: int | None = None
          ) -> Iterator[str]:
    """A gdi serve of its own on a data folder; yields its base URL, stops it after."""
    port = port or free_port()
    full = {**os.environ, "GDI_DATA_DIR": str(data_dir), "GDI_SHARED_DIR": str(SHARED),
            **(env or {})}
    proc = subprocess.Popen([*GDI, "serve", "--port", str(port)], cwd=ROOT, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/ogcapi/conformance", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "no gdi serve"
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def playground_points(published: Published, data_dir: Path, name: str) -> Path:
    """The sample playground register as points (a first vertex each), as a GeoJSON under
    ``<data>/sources/<name>/spielplaetze_punkte.geojson``."""
    src = published.data_dir / "sources" / "playgrounds" / "spielplaetze.geojson"
    doc = json.loads(src.read_text(encoding="utf-8"))
    for feature in doc["features"]:
        geom = feature["geometry"]
        if geom:
            ring = geom["coordinates"][0] if geom["type"] == "Polygon" else \
                geom["coordinates"][0][0]
            feature["geometry"] = {"type": "Point", "coordinates": ring[0]}
    target = data_dir / "sources" / name / "spielplaetze_punkte.geojson"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return target


def copy_tree(src: Path, dst: Path) -> Path:
    """A copy of a data folder (without a running server's sockets and locks)."""
    shutil.copytree(src, dst, symlinks=True,
                    ignore=shutil.ignore_patterns("*.sock", "serve.lock"))
    return dst


def patch_dbf_value(dbf: Path, field: str, record: int, value: str) -> None:
    """Write ``value`` into one field of one record of a DBF in place (fixed-width bytes)."""
    data = bytearray(dbf.read_bytes())
    header_len, record_len = struct.unpack_from("<HH", data, 8)
    offset, pos = 1, 32
    while data[pos] != 0x0D:
        name = data[pos:pos + 11].split(b"\0")[0].decode("ascii")
        width = data[pos + 16]
        if name == field:
            start = header_len + record * record_len + offset
            data[start:start + width] = value.encode("ascii").rjust(width)[:width]
            dbf.write_bytes(bytes(data))
            return
        offset += width
        pos += 32
    raise KeyError(field)


def private_site_ids(published: Published) -> list[str]:
    """Register numbers of the contaminated sites the public may not see one by one (from the
    internal store): what every leak test looks for in public outputs."""
    import pyogrio

    full = pyogrio.read_dataframe(published.release("contaminated_sites") / "internal" /
                                  "contaminated_sites.gpkg")
    private = full[(full.kind != "Altablagerung") & ~full.municipal_land.astype(bool)]
    return sorted(set(private.register_number))
