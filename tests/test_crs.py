"""BETA2007: reference values to 1 mm, and no silent fallback without the grid."""

from __future__ import annotations

import numpy as np
import pytest

from gdi import crs
from gdi.errors import CrsError
from tests.conftest import SHARED, gdi


@pytest.fixture(autouse=True)
def _grid() -> None:
    crs.use_grids([SHARED / "proj"])


def test_beta2007_reference_point_to_the_millimetre() -> None:
    x, y = crs.transform_xy(np.array([3565000.0]), np.array([5778000.0]), "EPSG:31467",
                            "EPSG:25832")
    assert abs(x[0] - 564901.378) < 0.001 and abs(y[0] - 5776127.941) < 0.001
    assert crs.grid_self_check() < 0.001
    assert "DHDN to ETRS89 (8)" in crs.transformation_description("EPSG:31467", "EPSG:25832")


def test_inverse_returns_the_gauss_krueger_coordinates() -> None:
    x, y = crs.transform_xy(np.array([564901.378]), np.array([5776127.941]), "EPSG:25832",
                            "EPSG:31467")
    assert abs(x[0] - 3565000.0) < 0.001 and abs(y[0] - 5778000.0) < 0.001


def test_axis_order_is_explicit() -> None:
    # EPSG:31467 is northing-first by authority; arrays are always (easting, northing) here
    assert crs.north_first("EPSG:31467") and crs.north_first("EPSG:4326")
    assert not crs.north_first("EPSG:25832")
    x, _ = crs.transform_xy(np.array([3565000.0]), np.array([5778000.0]), "EPSG:31467",
                            "EPSG:25832")
    assert 500_000 < x[0] < 600_000


def test_unknown_crs_is_a_clear_error() -> None:
    with pytest.raises(CrsError, match="unknown CRS"):
        crs.parse_crs("EPSG:999999")


def test_run_refuses_without_the_grid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = gdi("run", "trees", data_dir=tmp_path, check=False,
               env={"GDI_GRID_DIRS": f'["{tmp_path}"]'})
    assert proc.returncode == 2
    assert "BETA2007.gsb not found" in proc.stderr and "Traceback" not in proc.stderr
