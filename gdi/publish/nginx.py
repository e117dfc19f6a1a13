"""The nginx front configuration (one root URL for every service).

nginx's configuration language is not XML or YAML; it is assembled here from a fixed
structure and values this program controls (paths and ports, never user input).
"""

from __future__ import annotations

import base64
import grp
import hashlib
import os
import pwd
import secrets
from pathlib import Path

from gdi import preview
from gdi.settings import Settings


def worker_identity(run: Path) -> tuple[int, int, str]:
    """(uid, gid, nginx ``user`` line) of nginx's worker processes. Started as root, nginx
    drops its workers to another user: the owner of the data folder (who can read what is
    published), never a user who cannot. Not root: the current user, no ``user`` line."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid(), ""
    owner = pwd.getpwuid(run.parent.stat().st_uid)
    group = grp.getgrgid(owner.pw_gid).gr_name
    return owner.pw_uid, owner.pw_gid, f"user {owner.pw_name} {group};"


def _worker_user(run: Path) -> str:
    uid, gid, line = worker_identity(run)
    if line:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.chown(run / "tmp" / sub, uid, gid)
    return line


def write_htpasswd(path: Path, user: str, password: str) -> None:
    """nginx auth_basic file with a salted SHA-1 ({SSHA}) password, readable by the owner."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    line = f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n"
    path.write_text(line, encoding="utf-8")
    path.chmod(0o600)


def _realm(settings: Settings) -> str:
    """The authentication realm shown to internal users (quotes removed: nginx syntax)."""
    return f"{settings.city.name.de} intern".replace('"', "")


def _internal_wms(settings: Settings, run: Path, ports: dict[str, Path]) -> str:
    if "internal_wms" not in ports:
        return ""
    return f"""        location = /internal/wms {{
            limit_except GET {{ deny all; }}
            auth_basic "{_realm(settings)}";
            auth_basic_user_file {run}/internal/htpasswd;
            include /etc/nginx/fastcgi_params;
            fastcgi_param HTTP_AUTHORIZATION "";
{_NO_REMOTE_STYLES}
{_GFI_JSON}
            fastcgi_pass backend_internal_wms;
        }}"""


def _internal(settings: Settings, run: Path, ports: dict[str, Path]) -> str:
    """The internal API behind authentication; switched off (404) without credentials."""
    if "internal" not in ports:
        return "        location /internal/ { return 404; }"
    return f"""        location /internal/ogcapi/ {{
            auth_basic "{_realm(settings)}";
            auth_basic_user_file {run}/internal/htpasswd;
            proxy_pass http://backend_internal/;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Authorization "";
        }}
{_internal_wms(settings, run, ports)}
        location /internal/ {{ return 404; }}"""


# WMS/SLD parameters that make MapServer fetch a URL (SSRF, a stalled process): refused at the
# front as well as switched off in the mapfile (ows_sld_enabled). Names are matched
# case-insensitively, percent-encoded letters included.
_REMOTE = "(s|%53|%73)(l|%4c|%6c)(d|%44|%64)(_body)?|remote_ows_(url|type)"
_NO_REMOTE_STYLES = f"""            if ($args ~* "(^|&)({_REMOTE})=") {{
                return 400 "SLD, SLD_BODY and remote OWS parameters are not supported\\n";
            }}"""


# the JSON GetFeatureInfo template's end marker, removed with the comma before it (mapfile.py)
_GFI_JSON = """            sub_filter_types application/json;
            sub_filter_once on;
            sub_filter '},"gdi:end-of-features"]' '}]';
            sub_filter '["gdi:end-of-features"]' '[]';
            # MapServer's own message pages (version, build options) never reach a client
            if ($arg_service !~* "^(WMS|WFS)$") {
                return 400 "SERVICE=WMS or SERVICE=WFS is required\\n";
            }"""


def _wms(ports: dict[str, Path]) -> str:
    if "wms" not in ports:
        return "        location = /wms { return 503; }"
    return f"""        location = /wms {{
            limit_except GET {{ deny all; }}
{_NO_REMOTE_STYLES}
{_GFI_JSON}
            include /etc/nginx/fastcgi_params;
            fastcgi_pass backend_wms;
        }}"""


def _wfs(ports: dict[str, Path]) -> str:
    """The INSPIRE direct-access download service: MapServer's WFS 2.0 on its own path."""
    if "wms" not in ports:
        return "        location = /wfs { return 503; }"
    return f"""        location = /wfs {{
            limit_except GET {{ deny all; }}
{_NO_REMOTE_STYLES}
            if ($arg_service !~* "^WFS$") {{
                return 400 "SERVICE=WFS is required\\n";
            }}
            include /etc/nginx/fastcgi_params;
            fastcgi_pass backend_wms;
        }}"""


def _atom(settings: Settings, ports: dict[str, Path]) -> str:
    """The pre-defined Atom download service: the feeds of the live catalogue as files, the
    OpenSearch operations from their own process."""
    atom = settings.data_dir / "catalogue" / "current" / "atom"
    search = ("""        location ~ ^/atom/(describe|get|search)$ {
            limit_except GET { deny all; }
            proxy_pass http://backend_atom;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }""" if "atom" in ports else
              "        location ~ ^/atom/(describe|get|search)$ { return 503; }")
    return f"""        location = /atom {{ return 301 /atom/service.xml; }}
        location = /atom/ {{ return 302 /atom/service.xml; }}
        location = /atom/opensearch.xml {{
            alias {atom}/opensearch.xml;
            types {{ }}
            default_type application/opensearchdescription+xml;
            limit_except GET {{ deny all; }}
        }}
        location /atom/ {{
            alias {atom}/;
            types {{ application/atom+xml xml; }}
            charset utf-8;
            charset_types application/atom+xml;
            limit_except GET {{ deny all; }}
        }}
{search}"""


def _extracts(settings: Settings) -> str:
    """The open-data extracts (gdi/publish/extracts): static files with their media types;
    nginx answers Content-Length, ETag, Last-Modified and Range itself, and compresses the
    text formats for clients that accept it. Lock files and partial builds are never
    served."""
    folder = settings.data_dir / "extracts"
    return f"""        location ~ ^/extracts/(.*/)?\\. {{ return 404; }}
        location /extracts/ {{
            alias {folder}/;
            limit_except GET {{ deny all; }}
            types {{
                text/csv csv; application/geo+json geojson; application/json json;
                application/geopackage+sqlite3 gpkg; application/vnd.apache.parquet parquet;
                application/flatgeobuf fgb; application/zip zip;
            }}
            default_type text/plain;
            charset utf-8;
            charset_types text/csv text/plain application/json application/geo+json;
            gzip on;
            gzip_types text/csv text/plain application/json application/geo+json;
            gzip_min_length 1024;
        }}"""


def _dcat(settings: Settings) -> str:
    """The DCAT-AP.de catalogue GovData harvests (Turtle, RDF/XML), from the live catalogue."""
    folder = settings.data_dir / "catalogue" / "current" / "dcat"
    return f"""        location /dcat/ {{
            alias {folder}/;
            limit_except GET {{ deny all; }}
            types {{ text/turtle ttl; application/rdf+xml rdf; }}
            charset utf-8;
            charset_types text/turtle application/rdf+xml;
            gzip on;
            gzip_types text/turtle application/rdf+xml;
        }}"""


def _csw(settings: Settings, ports: dict[str, Path]) -> str:
    """The discovery service (pycsw) and the catalogue's HTML pages. GetRecords by POST (an
    ogc:Filter) is a read: the only POST anywhere, and pycsw's transactions are off."""
    html = settings.data_dir / "catalogue" / "current" / "html"
    pages = f"""        location /metadata/ {{
            alias {html}/;
            index index.html;
            limit_except GET {{ deny all; }}
        }}"""
    if "csw" not in ports:
        return pages + "\n        location = /csw { return 503; }"
    return pages + """
        location = /csw {
            limit_except GET POST { deny all; }
            proxy_pass http://backend_csw;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            # a POST is a read here (GetRecords with a filter): safe to try again
            proxy_next_upstream error invalid_header non_idempotent;
        }"""


def _upstreams(ports: dict[str, Path]) -> str:
    """One upstream per backend socket, listed twice: a request whose connection fails or is
    cut (the process that took it crashed) is tried once more on the same socket, where
    another process of the pool takes it. Every request is a read-only GET: a retry is safe."""
    return "\n".join(f"""    upstream backend_{name} {{
        server unix:{path} max_fails=0;
        server unix:{path} max_fails=0 backup;
    }}""" for name, path in ports.items())


def _limits(settings: Settings) -> str:
    """Time and size limits at the front (docs/operations.md)."""
    t = settings.backend_timeout_s
    return f"""    client_max_body_size 64k;
    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 60s;
    keepalive_timeout 15s;
    large_client_header_buffers 4 16k;
    proxy_connect_timeout 5s;
    proxy_send_timeout 10s;
    proxy_read_timeout {t}s;
    proxy_next_upstream error invalid_header;
    proxy_next_upstream_tries 2;
    fastcgi_connect_timeout 5s;
    fastcgi_send_timeout 10s;
    fastcgi_read_timeout {t}s;
    fastcgi_next_upstream error invalid_header;
    fastcgi_next_upstream_tries 2;"""


def _preview_header(settings: Settings) -> str:
    """A local preview (gdi/preview.py) asks crawlers and harvesters to keep out."""
    if not preview.reasons(settings):
        return ""
    return '        add_header X-Robots-Tag "noindex, nofollow" always;'


def nginx_conf(settings: Settings, run: Path, ports: dict[str, Path]) -> str:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    user = _worker_user(run)
    static = run / "static"
    downloads = run / "downloads"
    logs = run / "logs"
    return f"""{user}
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {logs}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    types {{ application/gml+xml gml; application/geopackage+sqlite3 gpkg;
             application/city+json-seq jsonl; model/gltf-binary glb; }}
    default_type application/octet-stream;
    # paths only: query strings (filters on names, addresses...) never reach a log
    log_format paths '$remote_addr [$time_local] "$request_method $uri" $status $body_bytes_sent';
    access_log {logs}/access.log paths;
    server_tokens off;
    sendfile on;
    client_body_temp_path {run}/tmp/body;
    proxy_temp_path {run}/tmp/proxy;
    fastcgi_temp_path {run}/tmp/fastcgi;
    uwsgi_temp_path {run}/tmp/uwsgi;
    scgi_temp_path {run}/tmp/scgi;
{_limits(settings)}
{_upstreams(ports)}
    server {{
        listen {settings.host}:{settings.port};
{_preview_header(settings)}
        location = / {{ root {static}; try_files /index.html =404; }}
        location /static/ {{ alias {static}/; }}
        location /codelists/ {{
            alias {run}/codelists/;
            index index.html;
            limit_except GET {{ deny all; }}
        }}
        location /downloads/ {{
            alias {downloads}/;
            limit_except GET {{ deny all; }}
        }}
        location ~ ^/downloads/(.+\\.3dtiles/.+)$ {{  # 3D Tiles: gzip (GLB to about 40 %)
            alias {downloads}/$1;
            gzip on;
            gzip_types model/gltf-binary application/json;
            gzip_min_length 1024;
            limit_except GET {{ deny all; }}
        }}
        location ~ ^/downloads/(.+\\.city\\.json)$ {{  # CityJSON: by two extensions
            alias {downloads}/$1;
            types {{ }}
            default_type application/city+json;
            limit_except GET {{ deny all; }}
        }}
{_internal(settings, run, ports)}
{_wms(ports)}
{_wfs(ports)}
{_atom(settings, ports)}
{_extracts(settings)}
{_dcat(settings)}
{_csw(settings, ports)}
        location = /ogcapi {{ return 301 /ogcapi/; }}
        location /ogcapi/ {{
            proxy_pass http://backend_ogcapi/;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""
