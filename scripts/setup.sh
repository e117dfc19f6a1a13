#!/usr/bin/env bash
# Install everything gdi-hildesheim needs on a fresh Debian/Ubuntu machine (idempotent).
#   scripts/setup.sh          system packages + .venv with the service
#   scripts/setup.sh --test   the same + test tools (+ ogctests in .venv-ogctests)
#   scripts/setup.sh --bench  the same + the benchmark baselines (stock pygeoapi GeoPackage provider)
set -euo pipefail
cd "$(dirname "$0")/.."
with_tests=0
with_bench=0
[ "${1:-}" = "--test" ] && with_tests=1
[ "${1:-}" = "--bench" ] && with_bench=1
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# --- system packages: nginx (front), PROJ grids (BETA2007), GDAL tools (ogr2ogr baseline) ---
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ -f /usr/share/proj/BETA2007.gsb ] || need+=(proj-data)
command -v ogr2ogr >/dev/null 2>&1 || need+=(gdal-bin)
command -v curl >/dev/null 2>&1 || need+=(curl)
# the INSPIRE view service: MapServer 8 as resident FastCGI processes
[ -x /usr/lib/cgi-bin/mapserv ] || command -v mapserv >/dev/null 2>&1 || need+=(mapserver-bin cgi-mapserver)
command -v spawn-fcgi >/dev/null 2>&1 || need+=(spawn-fcgi)
# the font of the map labels
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# the web libraries the service serves itself (portal/package.json) come from the npm registry
command -v npm >/dev/null 2>&1 || need+=(npm)
# the citizens' browser for the accessibility and request-origin tests
if [ $with_tests -eq 1 ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ $with_bench -eq 1 ]; then
  ls /usr/lib/*/mod_spatialite.so >/dev/null 2>&1 || need+=(libsqlite3-mod-spatialite)
fi

# --- Python >= 3.12 (pygeoapi 0.24 needs it) ---
find_python() {
  local c
  for c in "${GDI_PYTHON:-}" python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[23]*/bin/python3 \
           /root/.pyenv/versions/3.1[23]*/bin/python3 python3; do
    [ -n "$c" ] || continue
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}
PY=$(find_python || true)
if [ -z "$PY" ]; then
  # Ubuntu 24.04 and Debian 13 ship Python 3.12+; venv support is a separate package there
  need+=(python3 python3-venv python3-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # the Debian package may start a system nginx on port 80; this project runs its own
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi
PY=${PY:-$(find_python || true)}
if [ -z "$PY" ]; then
  echo "setup: no Python >= 3.12 found. Install one (Ubuntu 24.04: apt install python3-venv;" >&2
  echo "       Debian 12: pyenv install 3.12) or set GDI_PYTHON to its path." >&2
  exit 1
fi

# --- the service's virtual environment ---
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
extra=""
[ $with_tests -eq 1 ] && extra="[test]"
.venv/bin/python -m pip install -q -e ".${extra}" 2>&1 | grep -vE "^WARNING: Location" || true
.venv/bin/python -c "import gdi, pygeoapi, pyogrio" || { echo "setup: install failed" >&2; exit 1; }

# --- web assets (no page of the service requests another host): pinned by portal/package-lock.json ---
npm_flags=(--no-audit --no-fund --loglevel=error)
[ $with_tests -eq 1 ] || npm_flags+=(--omit=dev)
(cd portal && SCARF_ANALYTICS=false npm ci "${npm_flags[@]}" >/dev/null) \
  || { echo "setup: npm ci in portal/ failed" >&2; exit 1; }

# --- the Discovery Service (pycsw 2.6.2) in its own environment: it pins SQLAlchemy < 2 ---
if [ ! -x .venv-pycsw/bin/python ]; then
  "$PY" -m venv .venv-pycsw
  .venv-pycsw/bin/python -m pip install -q --upgrade pip
fi
.venv-pycsw/bin/python -m pip install -q -r scripts/pycsw-requirements.txt 2>&1 | grep -vE "^WARNING: Location" || true
.venv-pycsw/bin/python -W ignore -c "import pycsw.server, gunicorn" || { echo "setup: pycsw install failed" >&2; exit 1; }

if [ $with_bench -eq 1 ]; then
  .venv/bin/python -m pip install -q pysqlite3-binary 2>&1 | grep -vE "^WARNING: Location" || true
fi

# --- the planning office's client for the tests: QGIS 3.22 headless (Debian packages) ---
if [ $with_tests -eq 1 ] && ! /usr/bin/python3 -c "import qgis.core" 2>/dev/null; then
  echo "setup: installing QGIS for the client tests (about 1 GB)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    qgis python3-qgis qgis-providers >/dev/null
fi

# --- ogctests pins old pyarrow/httpx/pytest: its own environment, used as a real client ---
if [ $with_tests -eq 1 ] && [ ! -x .venv-ogctests/bin/python ]; then
  "$PY" -m venv .venv-ogctests
  .venv-ogctests/bin/python -m pip install -q "ogctests==0.1.15" 2>&1 | grep -vE "^WARNING: Location" || true
fi
echo "setup: ready ($(.venv/bin/python --version))"
