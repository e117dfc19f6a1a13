"""Issue 8, the service side: backends unreachable around the front, internal files private,
no remote SLD, no query value in any log."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import INTERNAL, ROOT, Published, Server, http_body, http_status


def _listening_inodes() -> dict[int, int]:
    """inode -> port of every listening TCP socket of this machine."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                f = line.split()
                if f[3] == "0A":  # LISTEN
                    out[int(f[9])] = int(f[1].rsplit(":", 1)[1], 16)
    return out


def _ours(run: Path) -> list[int]:
    """Pids of the processes gdi serve started for this data folder."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if str(run).encode() in blob:
            pids.append(int(entry.name))
    return pids


def test_only_the_front_listens_on_tcp(server: Server) -> None:
    run = server.data_dir / "run"
    listening = _listening_inodes()
    ports: dict[int, set[int]] = {}
    pids = _ours(run)
    assert len(pids) >= 5  # nginx, 2 gunicorn masters (+ workers), 2 mapserv
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in listening:
                    ports.setdefault(listening[inode], set()).add(pid)
    front = int(server.base.rsplit(":", 1)[1])
    assert set(ports) == {front}, ports


def test_backend_sockets_refuse_other_accounts(server: Server) -> None:
    folder = server.data_dir / "run" / "sockets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    socks = sorted(folder.glob("*.sock"))
    assert {s.name for s in socks} == {"ogcapi.sock", "ogcapi-internal.sock", "wms.sock",
                                       "wms-internal.sock", "csw.sock", "atom.sock"}
    for sock in socks:
        assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    probe = ("import socket, sys\n"
             "for path in sys.argv[1:]:\n"
             "    s = socket.socket(socket.AF_UNIX)\n"
             "    try:\n"
             "        s.connect(path); print('CONNECTED', path)\n"
             "    except OSError as e:\n"
             "        print('REFUSED', path, e.errno)\n")
    owner = subprocess.run([sys.executable, "-c", probe, *map(str, socks)], capture_output=True,
                           text=True, timeout=30)
    assert owner.stdout.count("CONNECTED") == len(socks), owner.stdout  # the probe can connect
    if os.geteuid() != 0:
        pytest.skip("trying another account needs root")
    # the system's Python: the project's may live in a folder 'nobody' cannot enter
    other = subprocess.run(["/usr/bin/python3", "-c", probe, *map(str, socks)],
                           capture_output=True, text=True, timeout=30, user="nobody", cwd="/")
    assert other.stdout.count("REFUSED") == len(socks), other.stdout + other.stderr


def _modes(root: Path) -> list[tuple[Path, int]]:
    return [(p, stat.S_IMODE(p.lstat().st_mode)) for p in [root, *root.rglob("*")]
            if not p.is_symlink()]


def test_internal_files_are_private(published: Published, server: Server) -> None:
    folders = [p for p in published.data_dir.rglob("internal") if p.is_dir()]
    releases = [p for p in folders if "releases" in p.parts]
    assert len(releases) >= 4  # trees, playgrounds (sponsors), equipment, sites
    assert any("reports" in p.parts for p in folders)
    assert any(p.parent.name == "run" for p in folders)
    for folder in folders:
        for path, mode in _modes(folder):
            if path.is_dir():
                assert mode == 0o700, (path, oct(mode))
            elif not stat.S_ISSOCK(path.stat().st_mode):
                assert mode == 0o600, (path, oct(mode))
    for pub in published.data_dir.glob("publish/*/current/*.gpkg"):  # public: readable
        assert stat.S_IMODE(pub.stat().st_mode) & 0o004


def _fcgi():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("fcgi", ROOT / "bench" / "fcgi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Listener:
    """A TCP server on 127.0.0.1 that records every connection (the SSRF target)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.mark.parametrize("param", ["SLD", "sld", "SLD_BODY", "%53LD", "S%4cD_BODY",
                                   "REMOTE_OWS_URL"])
def test_wms_refuses_remote_styles_at_the_front(server: Server, param: str) -> None:
    target = _Listener()
    try:
        url = (f"http://127.0.0.1:{target.port}/style.sld" if "BODY" not in param.upper()
               else "<StyledLayerDescriptor/>")
        q = ("SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=LU.ExistingLandUse&STYLES="
             "&CRS=EPSG:25832&BBOX=560000,5770000,570000,5780000&WIDTH=64&HEIGHT=64"
             f"&FORMAT=image/png&{param}={urllib.parse.quote(url)}")
        for path in ("/wms", "/internal/wms"):
            assert http_status(f"{server.base}{path}?{q}", headers=_auth()) == 400, (path, param)
        time.sleep(0.3)
        assert target.hits == 0
    finally:
        target.close()


def _auth() -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{INTERNAL[0]}:{INTERNAL[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_mapserver_itself_ignores_sld(server: Server) -> None:
    """Behind the front too: MapServer, asked directly on its socket, fetches nothing."""
    fcgi = _fcgi()
    target = _Listener()
    try:
        for name in ("wms.sock", "wms-internal.sock"):
            sock = str(server.data_dir / "run" / "sockets" / name)
            q = ("SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=LU.ExistingLandUse&STYLES="
                 "&CRS=EPSG:25832&BBOX=560000,5770000,570000,5780000&WIDTH=64&HEIGHT=64"
                 f"&FORMAT=image/png&SLD=http://127.0.0.1:{target.port}/style.sld")
            started = time.monotonic()
            headers, body = fcgi.get("127.0.0.1", 80, "/wms", q, unix=sock)
            assert time.monotonic() - started < 5
            assert headers.get("Content-Type", "").startswith("image/png"), body[:300]
        time.sleep(0.3)
        assert target.hits == 0
    finally:
        target.close()


def test_no_query_value_reaches_a_log(server: Server) -> None:
    secret = "GEHEIM-LOGPROBE-4711 Müller"
    quoted = urllib.parse.quote(f"owner = '{secret}' AND ((")
    internal = f"{server.base}/internal/ogcapi/collections/contaminated_sites/items"
    public = f"{server.ogcapi}/collections/contaminated_sites/items"
    req_status = []
    for url in (f"{internal}?filter={quoted}", f"{internal}?owner={urllib.parse.quote(secret)}",
                f"{public}?filter={quoted}", f"{public}?q={urllib.parse.quote(secret)}",
                f"{public}?kind={urllib.parse.quote(secret)}&limit=abc"):
        req = urllib.request.Request(url, headers=_auth())
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                req_status.append(resp.status)
        except urllib.error.HTTPError as exc:
            req_status.append(exc.code)
    assert req_status.count(400) >= 3, req_status  # refused, and logged with the reason
    assert b"not valid CQL2 text" in http_body(f"{public}?filter={quoted}")
    bad = http_body(f"{public}?municipal_land={urllib.parse.quote(secret)}")
    assert secret in json.loads(bad)["description"]  # the client is told which value ...
    time.sleep(0.5)
    logs = list((server.data_dir / "run" / "logs").glob("*.log"))
    assert logs
    text = b"".join(p.read_bytes() for p in logs)
    for word in ("GEHEIM-LOGPROBE", "Müller"):
        assert word.encode() not in text, word
    # ... the log says why, with the value scrubbed: the scrubbing is what kept it out
    assert b"municipal_land: '<query>' is not a boolean" in text
