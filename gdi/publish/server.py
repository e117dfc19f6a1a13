"""``gdi serve``: every service under one root URL on 127.0.0.1.

    /                 landing page (German/English), static
    /ogcapi/          OGC API Features (pygeoapi under gunicorn, its own process)
    /downloads/<id>/  the public files of the live release (INSPIRE GML, GeoPackage)
    /wms, /csw        reserved for MapServer (FastCGI) and pycsw (own venv), later issues

nginx is the front: it serves static files itself, proxies to the application processes and
speaks FastCGI to MapServer, so no request pays a process start. Configuration files are
generated into ``<data>/run`` on every start; processes are stopped on exit or signal.

Only nginx listens on a TCP port. Every backend (pygeoapi under gunicorn, MapServer under
spawn-fcgi, public and internal) listens on a Unix socket in ``<run>/sockets`` (folder 0700,
sockets 0600, owned by nginx's worker user): no local account can reach a backend around the
authenticating front.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from gdi.errors import ServiceError
from gdi.locks import exclusive
from gdi.private import seal
from gdi.publish import mapfile, ogcapi
from gdi.publish.frontpage import write_codelists, write_frontpage
from gdi.publish.nginx import nginx_conf, worker_identity, write_htpasswd
from gdi.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(host: str, port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ServiceError(f"port {port} on {host} is taken ({exc.strerror})",
                               hint="stop what listens there, or choose another port with "
                                    "--port or GDI_PORT") from None


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.run_dir = settings.run_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.sockets = self.run_dir / "sockets"
        self.cfg: dict[str, Any] = {}

    def __enter__(self) -> Services:
        self._lock = contextlib.ExitStack()
        # one gdi serve per data folder: a second one would replace the first's run folder
        self._lock.enter_context(exclusive(self.settings.data_dir / "serve.lock", ServiceError,
                                           f"another 'gdi serve' on {self.settings.data_dir}"))
        try:
            _port_free(self.settings.host, self.settings.port)
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
        uid, gid, _ = worker_identity(run)
        self.sockets.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(self.sockets, uid, gid)
        cfg_path, oas_path, self.cfg = ogcapi.write_runtime(self.settings, run)
        datasets = ogcapi.published(self.settings)
        downloads = run / "downloads"
        for desc, _ in datasets:
            folder = downloads / desc.id
            folder.mkdir(parents=True)
            for name in ogcapi.download_files(desc):
                (folder / name).symlink_to(self.settings.publish_dir / desc.id / "current" / name)
        write_frontpage(run / "static", datasets, self.settings)
        write_codelists(run / "codelists", self.settings)
        backends = {"ogcapi": self._socket("ogcapi")}
        self._ogcapi("ogcapi", cfg_path, oas_path, backends["ogcapi"])
        if self.settings.internal_user and self.settings.internal_password.get_secret_value():
            internal = run / "internal"
            icfg, ioas, _ = ogcapi.write_runtime(self.settings, internal, internal=True)
            write_htpasswd(internal / "htpasswd", self.settings.internal_user,
                           self.settings.internal_password.get_secret_value())
            backends["internal"] = self._socket("ogcapi-internal")
            self._ogcapi("ogcapi-internal", icfg, ioas, backends["internal"])
        mapserv = shutil.which("mapserv") or "/usr/lib/cgi-bin/mapserv"
        spawn = shutil.which("spawn-fcgi")
        if Path(mapserv).exists() and spawn:
            ms_conf = mapfile.write(self.settings, datasets, run / "mapserver",
                                    run / "logs" / "mapserver.log")
            backends["wms"] = self._socket("wms")
            # resident FastCGI processes: no request pays a process start
            self._fcgi("wms", backends["wms"], mapserv, ms_conf)
            if "internal" in backends:
                internal_conf = mapfile.write(self.settings, datasets,
                                              run / "internal" / "mapserver",
                                              run / "logs" / "mapserver-internal.log",
                                              internal=True)
                backends["internal_wms"] = self._socket("wms-internal")
                self._fcgi("wms-internal", backends["internal_wms"], mapserv, internal_conf)
        for sock in backends.values():
            self._await_socket(sock, uid, gid)
        if (run / "internal").exists():  # configuration of the internal services
            seal(run / "internal")
            if os.geteuid() == 0:  # nginx's workers read the password file at each request
                os.chown(run / "internal", uid, gid)
                os.chown(run / "internal" / "htpasswd", uid, gid)
        conf = run / "nginx.conf"
        conf.write_text(nginx_conf(self.settings, run, backends), encoding="utf-8")
        self._spawn("front", [nginx, "-c", str(conf), "-p", str(run), "-e",
                              str(run / "logs" / "nginx-error.log")], dict(os.environ))
        self._wait_ready(f"http://{self.settings.host}:{self.settings.port}/ogcapi/conformance")

    def _socket(self, name: str) -> Path:
        return self.sockets / f"{name}.sock"

    def _await_socket(self, sock: Path, uid: int, gid: int, timeout: float = 30.0) -> None:
        """Wait for a backend's socket; make it its owner's (nginx's worker user) only."""
        deadline = time.monotonic() + timeout
        while not sock.exists():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    log = (self.run_dir / "logs" / f"{name}.log").read_text(errors="replace")
                    raise ServiceError(f"{name} exited at start:\n{log[-2000:]}")
            if time.monotonic() > deadline:
                raise ServiceError(f"no backend socket {sock.name} within {timeout:.0f} s")
            time.sleep(0.05)
        if os.geteuid() == 0:
            os.chown(sock, uid, gid)
        sock.chmod(0o600)

    def _fcgi(self, name: str, sock: Path, mapserv: str, conf: Path) -> None:
        spawn = shutil.which("spawn-fcgi") or "spawn-fcgi"
        # the socket is handed to nginx's worker user by _await_socket
        self._spawn(name, [spawn, "-n", "-s", str(sock), "-M", "0600", "--", mapserv],
                    {**os.environ, "MAPSERVER_CONFIG_FILE": str(conf)})

    def _ogcapi(self, name: str, cfg: Path, oas: Path, sock: Path) -> None:
        env = {**os.environ, "PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas)}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self._spawn(name, [str(gunicorn), "--bind", f"unix:{sock}", "--umask", "0o077",
                           "--no-control-socket",
                           "--workers", "2", "--threads", "4", "--worker-class", "gthread",
                           "--access-logfile", "-", "--error-logfile", "-",
                           # paths only: query strings never reach a log
                           "--access-logformat", '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s',
                           "gdi.publish.app:application"], env)

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log = (self.run_dir / "logs" / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def _wait_ready(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    log = (self.run_dir / "logs" / f"{name}.log").read_text(errors="replace")
                    raise ServiceError(f"{name} exited at start:\n{log[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise ServiceError(f"services did not answer at {url} within {timeout:.0f} s")

    def urls(self) -> dict[str, str]:
        base = f"http://{self.settings.host}:{self.settings.port}"
        out = {"Startseite / home": f"{base}/", "OGC API Features": f"{base}/ogcapi/",
               "WMS 1.3.0 (INSPIRE)": f"{base}/wms?SERVICE=WMS&REQUEST=GetCapabilities"}
        for name in self.cfg.get("resources", {}):
            out[f"collection {name}"] = f"{base}/ogcapi/collections/{name}/items"
        return out

    def wait(self) -> None:
        stop = False

        def handler(signum: int, frame: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, handler)
        try:
            while not stop and all(p.poll() is None for p in self.procs.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        # one grace period for all; the FastCGI mapserv processes (stateless, read-only) do
        # not react to SIGTERM while they wait for a request, and are killed after it
        deadline = time.monotonic() + 5
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
