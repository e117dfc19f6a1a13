"""pygeoapi's stock Flask app with an SQLite that can load mod_spatialite (benchmark baseline).

pyenv Pythons cannot load SQLite extensions; the stock SQLiteGPKG provider needs
mod_spatialite. pysqlite3 (a wheel with its own SQLite) stands in for the stdlib module.
"""

import sys

import pysqlite3  # type: ignore[import-not-found]

sys.modules["sqlite3"] = pysqlite3

from pygeoapi.flask_app import APP  # noqa: E402

__all__ = ["APP"]
