"""``gdi serve``: every service under one root URL on 127.0.0.1.

    /                 landing page (German/English), static
    /ogcapi/          OGC API Features (pygeoapi under gunicorn, its own process)
    /downloads/<id>/  the public files of the live release (INSPIRE GML, GeoPackage)
    /wms              INSPIRE view service and WFS (MapServer, resident FastCGI processes)
    /wfs              INSPIRE direct-access download service (the same MapServer, WFS 2.0)
    /atom/            INSPIRE pre-defined download service: Atom feeds, OpenSearch
    /csw              INSPIRE discovery service (pycsw 2.6.2 in its own venv, CSW 2.0.2)
    /extracts/<id>/   open-data extracts (CSV, GeoJSON, GeoPackage, Shapefile, GeoParquet,
                      FlatGeobuf, datapackage.json), ``latest/`` and dated versions
    /metadata/        the catalogue's records as HTML pages (German first)

nginx is the front: it serves static files itself, proxies to the application processes and
speaks FastCGI to MapServer, so no request pays a process start. Configuration files are
generated into ``<data>/run`` on every start; processes are stopped on exit or signal.

Only nginx listens on a TCP port. Every backend (pygeoapi under gunicorn, a pool of MapServer
FastCGI processes, public and internal) listens on a Unix socket in ``<run>/sockets`` (folder
0700, sockets 0600, owned by nginx's worker user): no local account can reach a backend around
the authenticating front. The sockets are created here and handed to the backends, so a
backend restarted by the supervisor (:mod:`gdi.supervisor`) takes over the same socket.
``<run>/pids.json`` names every process; ``gdi serve --check`` verifies that the processes
answering on the port and the sockets are these.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from gdi.city3d import products
from gdi.errors import GdiError, ServiceError
from gdi.locks import exclusive
from gdi.metadata import catalogue
from gdi.private import seal
from gdi.publish import assets, mapfile, ogcapi
from gdi.publish.csw import config as csw_config
from gdi.publish.frontpage import write_codelists, write_frontpage
from gdi.publish.nginx import nginx_conf, worker_identity, write_htpasswd
from gdi.settings import Settings
from gdi.supervisor import Child, Supervisor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _front_socket(host: str, port: int) -> socket.socket:
    """The front's listening TCP socket, held by gdi serve and inherited by nginx (through
    nginx's ``NGINX`` environment variable): a restarted nginx takes it over, so clients wait
    in its backlog instead of being refused while nginx restarts."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx binds
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServiceError(f"port {port} on {host} is taken ({exc.strerror})",
                           hint="stop what listens there, or choose another port with "
                                "--port or GDI_PORT") from None
    sock.listen(511)
    sock.set_inheritable(True)
    return sock


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.run_dir = settings.run_dir
        self.sockets = self.run_dir / "sockets"
        self.listening: dict[str, socket.socket] = {}
        self.socket_inodes: dict[str, int] = {}  # of the socket files as bound
        self.cfg: dict[str, Any] = {}
        self.sup: Supervisor | None = None
        self.warnings: list[str] = []

    def __enter__(self) -> Services:
        self._lock = contextlib.ExitStack()
        # one gdi serve per data folder: a second one would replace the first's run folder
        self._lock.enter_context(exclusive(self.settings.data_dir / "serve.lock", ServiceError,
                                           f"another 'gdi serve' on {self.settings.data_dir}"))
        try:
            self.listening["front"] = _front_socket(self.settings.host, self.settings.port)
            self.start()
        except BaseException:
            self.stop()
            self._lock.close()
            raise
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        try:
            self.stop()
        finally:
            self._lock.close()

    def start(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise ServiceError("nginx is not installed", hint="run scripts/setup.sh")
        run = self.run_dir
        if run.exists():
            shutil.rmtree(run)
        (run / "logs").mkdir(parents=True)
        self.sup = Supervisor(run / "logs" / "supervisor.log")
        uid, gid, _ = worker_identity(run)
        self.sockets.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(self.sockets, uid, gid)
        self._extracts()
        self._catalogue()
        cfg_path, oas_path, self.cfg = ogcapi.write_runtime(self.settings, run)
        datasets = ogcapi.published(self.settings)
        downloads = run / "downloads"
        for desc, _ in datasets:
            folder = downloads / desc.id
            folder.mkdir(parents=True)
            live = self.settings.publish_dir / desc.id / "current"
            for name in ogcapi.download_files(desc, self.settings.city.download_crs) + [
                    n for n in products.downloads(desc) if (live / n).exists()]:
                (folder / name).symlink_to(live / name)
        write_frontpage(run / "static", datasets, self.settings)
        assets.copy_vendor(self.settings.project_dir / "portal" / "node_modules", run / "static")
        self._viewer3d(run / "static", datasets)
        write_codelists(run / "codelists", self.settings)
        backends = {"ogcapi": self._listen("ogcapi", uid, gid)}
        self._ogcapi("ogcapi", cfg_path, oas_path)
        if self.settings.internal_user and self.settings.internal_password.get_secret_value():
            internal = run / "internal"
            icfg, ioas, _ = ogcapi.write_runtime(self.settings, internal, internal=True)
            write_htpasswd(internal / "htpasswd", self.settings.internal_user,
                           self.settings.internal_password.get_secret_value())
            backends["internal"] = self._listen("ogcapi-internal", uid, gid)
            self._ogcapi("ogcapi-internal", icfg, ioas)
        mapserv = shutil.which("mapserv") or "/usr/lib/cgi-bin/mapserv"
        if Path(mapserv).exists():
            ms_conf = mapfile.write(self.settings, datasets, run / "mapserver",
                                    run / "logs" / "mapserver.log")
            backends["wms"] = self._listen("wms", uid, gid)
            self._mapserv_pool("wms", mapserv, ms_conf)
            if "internal" in backends:
                internal_conf = mapfile.write(self.settings, datasets,
                                              run / "internal" / "mapserver",
                                              run / "logs" / "mapserver-internal.log",
                                              internal=True)
                backends["internal_wms"] = self._listen("wms-internal", uid, gid)
                self._mapserv_pool("wms-internal", mapserv, internal_conf)
        if catalogue.live(self.settings) is not None:
            backends["csw"] = self._listen("csw", uid, gid)
            self._csw("csw", csw_config.write(self.settings, run / "csw",
                                              run / "logs" / "pycsw.log"))
            backends["atom"] = self._listen("atom", uid, gid)
            self._atom("atom")
        if (run / "internal").exists():  # configuration of the internal services
            seal(run / "internal")
            if os.geteuid() == 0:  # nginx's workers read the password file at each request
                os.chown(run / "internal", uid, gid)
                os.chown(run / "internal" / "htpasswd", uid, gid)
        conf = run / "nginx.conf"
        conf.write_text(nginx_conf(self.settings, run, backends), encoding="utf-8")
        front = self.listening["front"].fileno()
        self.sup.start(Child("front", [nginx, "-c", str(conf), "-p", str(run), "-e",
                                       str(run / "logs" / "nginx-error.log")],
                             {**os.environ, "NGINX": f"{front};"}, run / "logs" / "front.log",
                             fds=(front,)))
        self._wait_ready(f"http://{self.settings.host}:{self.settings.port}/ogcapi/conformance")
        self._write_pids()

    def _viewer3d(self, static: Path, datasets: list[tuple[Any, Path]]) -> None:
        """The 3D view (/static/3d.html) of the first buildings dataset with 3D Tiles."""
        from gdi.city3d import tiles3d
        from gdi.publish import viewer3d

        for desc, _ in datasets:
            if desc.city3d is None:
                continue
            live = self.settings.publish_dir / desc.id / "current"
            name = products.tiles3d_folder(desc.id)
            tilesets = {v: f"/downloads/{desc.id}/{name}/{v}/tileset.json"
                        for v in ("existing", "planning")
                        if (live / name / v / "tileset.json").exists()}
            if "existing" in tilesets:
                undulation = (None if tiles3d.undulation_from_proj() is not None
                              else tiles3d.GCG2016_HILDESHEIM_M)
                viewer3d.write(static, self.settings, tilesets, dataset=desc.id,
                               geoid_undulation=undulation)
                return

    def _listen(self, name: str, uid: int, gid: int) -> Path:
        """A backend's listening Unix socket, owned by nginx's worker user, mode 0600."""
        path = self.sockets / f"{name}.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        if os.geteuid() == 0:
            os.chown(path, uid, gid)
        sock.listen(256)
        sock.set_inheritable(True)
        self.listening[name] = sock
        self.socket_inodes[name] = path.stat().st_ino
        return path

    def _mapserv_pool(self, name: str, mapserv: str, conf: Path) -> None:
        """``wms_processes`` resident FastCGI processes on one socket (passed as stdin, as
        spawn-fcgi does): one crash or one slow request never blocks the WMS."""
        assert self.sup is not None
        env = {**os.environ, "MAPSERVER_CONFIG_FILE": str(conf)}
        for i in range(1, self.settings.wms_processes + 1):
            # stateless and read-only: stopped by SIGKILL (it ignores SIGTERM in accept())
            self.sup.start(Child(f"{name}-{i}", [mapserv], env,
                                 self.run_dir / "logs" / f"{name}.log",
                                 stop_signal=signal.SIGKILL,
                                 stdin=self.listening[name].fileno()))

    def _gunicorn(self, name: str, command: list[str], app: str, env: dict[str, str],
                  workers: int = 2, threads: int = 4) -> None:
        """A WSGI application under gunicorn on the backend socket ``name`` (inherited)."""
        assert self.sup is not None
        fd = self.listening[name].fileno()
        # SIGINT: gunicorn's quick shutdown (SIGTERM would wait for its graceful timeout)
        self.sup.start(Child(name, [*command, "--bind", f"fd://{fd}",
                                    "--no-control-socket", "--graceful-timeout", "1",
                                    "--workers", str(workers), "--threads", str(threads),
                                    "--worker-class", "gthread",
                                    "--timeout", str(self.settings.backend_timeout_s + 5),
                                    "--access-logfile", "-", "--error-logfile", "-",
                                    # paths only: query strings never reach a log
                                    "--access-logformat",
                                    '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s', app],
                             env, self.run_dir / "logs" / f"{name}.log",
                             stop_signal=signal.SIGINT, fds=(fd,)))

    def _ogcapi(self, name: str, cfg: Path, oas: Path) -> None:
        env = {**os.environ, "PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas)}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self._gunicorn(name, [str(gunicorn)], "gdi.publish.app:application", env)

    def _atom(self, name: str) -> None:
        """The Atom download service's OpenSearch operations (gdi.publish.atom.search)."""
        index = self.settings.data_dir / catalogue.NAME / "current"
        env = {**os.environ, "GDI_ATOM_INDEX": str(index / "atom-index.json")}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self._gunicorn(name, [str(gunicorn)], "gdi.publish.atom.search:application", env,
                       workers=1, threads=4)

    def _extracts(self) -> None:
        """Extracts of live releases that have none yet; a failure leaves the last ones
        served and is reported."""
        from gdi.publish import extracts

        report = extracts.publish(self.settings)
        for dataset, reason in sorted(report.failed.items()):
            self.warnings.append(f"the extracts of {dataset} were not renewed, the last ones "
                                 f"are served: {reason}")

    def _catalogue(self) -> None:
        """Publish the catalogue of what is live now (unchanged records stay byte-identical);
        if that fails, the last good catalogue is served, and the failure is reported."""
        try:
            catalogue.publish(self.settings)
        except GdiError as exc:
            if catalogue.live(self.settings) is None:
                raise ServiceError(f"no metadata catalogue: {exc}", hint=exc.hint) from None
            self.warnings.append(f"the catalogue was not renewed, the last good one is "
                                 f"served: {exc}")

    def _csw(self, name: str, cfg: Path) -> None:
        """pycsw under gunicorn, both from pycsw's own environment (.venv-pycsw)."""
        python = catalogue.pycsw_python(self.settings)
        env = {**os.environ, "PYCSW_CONFIG": str(cfg), "PYTHONWARNINGS": "ignore"}
        env.pop("PYTHONPATH", None)
        self._gunicorn(name, [str(python), "-m", "gunicorn", "--pythonpath",
                              str(self.settings.project_dir)],
                       "gdi.publish.csw.backend:application", env, threads=2)

    def _wait_ready(self, url: str, timeout: float = 60.0) -> None:
        assert self.sup is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, _ in self.sup.exited():
                log = self.sup.children[name].log.read_text(errors="replace")
                raise ServiceError(f"{name} exited at start:\n{log[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise ServiceError(f"services did not answer at {url} within {timeout:.0f} s")

    def _write_pids(self) -> None:
        assert self.sup is not None
        doc = {"serve": os.getpid(), "group": self.sup.group, "children": self.sup.pids(),
               "port": self.settings.port,
               "sockets": self.socket_inodes}
        tmp = self.run_dir / f".pids.json.{os.getpid()}"
        tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        os.replace(tmp, self.run_dir / "pids.json")  # readers never see a half-written file

    def verify(self) -> list[str]:
        """Problems found when checking that the processes answering are ours (empty: none):
        the front port is held by our nginx, every backend socket is the one we hold, every
        child runs."""
        assert self.sup is not None
        problems = [f"{n} is not running" for n, _ in self.sup.exited()]
        nginx_pid = (self.run_dir / "nginx.pid")
        front = self.sup.pids().get("front")
        if not nginx_pid.exists() or front is None or int(nginx_pid.read_text()) != front:
            problems.append("nginx's pid file does not name the front this gdi serve started")
        holders = _listening_pids(self.settings.port) - {os.getpid()}  # gdi serve holds it too
        ours = self.sup.members()
        if not holders or not holders <= ours:
            problems.append(f"port {self.settings.port} is held by pid(s) "
                            f"{sorted(holders) or 'none'}, not by this gdi serve's nginx")
        for name, inode in self.socket_inodes.items():
            path = self.sockets / f"{name}.sock"
            try:
                same = path.stat().st_ino == inode
            except OSError:
                same = False
            if not same:
                problems.append(f"socket {path} is not the one this gdi serve listens on")
        return problems

    def urls(self) -> dict[str, str]:
        base = f"http://{self.settings.host}:{self.settings.port}"
        out = {"Startseite / home": f"{base}/", "OGC API Features": f"{base}/ogcapi/",
               "WMS 1.3.0 (INSPIRE)": f"{base}/wms?SERVICE=WMS&REQUEST=GetCapabilities",
               "WFS 2.0 (INSPIRE)":
                   f"{base}/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetCapabilities",
               "Atom (INSPIRE)": f"{base}/atom/service.xml",
               "CSW 2.0.2 (INSPIRE)":
                   f"{base}/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetCapabilities",
               "Metadaten / metadata": f"{base}/metadata/"}
        for name in self.cfg.get("resources", {}):
            out[f"collection {name}"] = f"{base}/ogcapi/collections/{name}/items"
        return out

    def wait(self) -> None:
        """Serve until SIGTERM or Ctrl+C, restarting crashed children meanwhile."""
        assert self.sup is not None
        stop = False

        def handler(signum: int, frame: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, handler)
        try:
            pids: dict[str, int] = {}
            while not stop:
                self.sup.tend()
                if self.sup.pids() != pids:
                    self._write_pids()
                    pids = self.sup.pids()
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        if self.sup is not None:
            self.sup.stop()
        for sock in self.listening.values():
            sock.close()
        self.listening.clear()


def _listening_pids(port: int) -> set[int]:
    """Pids holding a listening TCP socket on ``port`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in fh.readlines()[1:]:
                f = line.split()
                if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{f[9]}]")
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        pids.add(int(entry.name))
    return pids
