#!/usr/bin/env bash
# The main job on the embedded default: install, generate the city's sample exports, run every
# dataset's ETL into GeoPackage/INSPIRE GML, and serve everything on http://127.0.0.1:${GDI_PORT:-8000}/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GDI_PORT=${GDI_PORT:-8000}
for d in trees playgrounds contaminated_sites buildings; do
  [ -f "var/sources/$d/.complete" ] || { .venv/bin/gdi sample "$d" && touch "var/sources/$d/.complete"; }
done
.venv/bin/gdi run --all
exec .venv/bin/gdi serve
