#!/usr/bin/env bash
# Install everything (test tools included) and run the whole test suite: lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export GDI_OGCTESTS_PYTHON="$PWD/.venv-ogctests/bin/python"
.venv/bin/ruff check gdi transforms tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
