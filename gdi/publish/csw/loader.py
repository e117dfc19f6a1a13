"""Fill a new pycsw SQLite repository from a folder of ISO 19139 records (run in .venv-pycsw).

    .venv-pycsw/bin/python -m gdi.publish.csw.loader <records.db> <folder of *.xml>

pycsw's ``load_records`` logs and skips a record it cannot parse; here that is a failure:
every file must be in the repository, or the exit status is 1 and nothing is used. Prints one
JSON line: ``{"loaded": n, "identifiers": [...]}`` or ``{"error": ...}``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import tempfile
import warnings
from pathlib import Path


def load(database: Path, folder: Path) -> list[str]:
    warnings.simplefilter("ignore")  # pkg_resources' deprecation notice on import
    from pycsw.core import admin
    from pycsw.core.config import StaticContext

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    if database.exists():
        raise SystemExit(f"{database} exists: the loader only fills a new repository")
    url = f"sqlite:///{database.absolute()}"
    files = sorted(folder.glob("*.xml"))
    with tempfile.TemporaryDirectory() as home:
        admin.setup_db(url, "records", home)
    loaded = admin.load_records(StaticContext(), url, "records", str(folder))
    missing = sorted({str(f) for f in files} - set(loaded))
    if missing:
        raise ValueError(f"pycsw did not load {len(missing)} record(s): "
                         + ", ".join(Path(m).name for m in missing))
    with sqlite3.connect(database) as con:
        ids = [r[0] for r in con.execute("SELECT identifier FROM records ORDER BY identifier")]
    if len(ids) != len(files):
        raise ValueError(f"{len(files)} record files, {len(ids)} records in the repository")
    return ids


def main(argv: list[str]) -> int:
    try:
        ids = load(Path(argv[1]), Path(argv[2]))
    except Exception as exc:  # reported to the calling process, which decides
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps({"loaded": len(ids), "identifiers": ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
