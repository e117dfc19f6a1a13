"""Issue 8, safe publication: the bad-input corpus. A bad export never replaces good data.

Each case starts from a live publication of a good export, breaks the export the way a real
one breaks, runs the real ``gdi run`` and asserts: one clear message (no traceback), exit 2,
the report's status and accounting, and the live publication untouched (same release, same
report). The earlier bad-input cases are in tests/test_bad_input.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest

from tests import badinput
from tests.conftest import gdi


@dataclass(frozen=True)
class Live:
    root: Path
    fmt: str

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def desc(self) -> Path:
        return self.root / "benches.yml"

    @property
    def source(self) -> Path:
        return next(p for p in (self.root / "src").iterdir()
                    if p.suffix in {".csv", ".shp", ".geojson"})

    def current(self) -> tuple[str, str]:
        link = self.data / "publish" / "benches" / "current"
        return os.readlink(link), (link / "report.json").read_text(encoding="utf-8")

    def latest(self) -> dict[str, object]:
        path = self.data / "reports" / "benches" / "latest.json"
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def describe(self, **kwargs: object) -> Path:
        self.desc.write_text(badinput.descriptor(self.source, self.fmt, **kwargs),  # type: ignore[arg-type]
                             encoding="utf-8")
        return self.desc

    def run(self, *extra: str) -> tuple[int, str]:
        proc = gdi("run", str(self.desc), "-q", *extra, data_dir=self.data, check=False)
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out and "Internal error" not in out, out
        return proc.returncode, out


def _template(root: Path, fmt: str) -> Path:
    live = Live(root, fmt)
    badinput.write_source(root / "src", fmt)
    live.describe()
    code, out = live.run()
    assert code == 0, out
    return root


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("bad-input")
    return {fmt: _template(base / fmt, fmt) for fmt in ("csv", "shapefile", "geojson")}


@pytest.fixture
def live(templates: dict[str, Path], tmp_path: Path, request: pytest.FixtureRequest) -> Live:
    fmt = request.param
    root = shutil.copytree(templates[fmt], tmp_path / fmt, symlinks=True)
    lv = Live(root, fmt)
    lv.describe()  # the copy's descriptor points at the copy's source
    return lv


def _refused(live: Live, before: tuple[str, str], code: int, out: str, *needles: str,
             status: str = "failed") -> None:
    assert code == 2, out
    for needle in needles:
        assert needle in out, (needle, out)
    assert live.current() == before, "the live publication changed"
    report = live.latest()
    assert report["status"] == status, report["status"]
    if report["read"]:
        assert report["read"] == report["published"] + report["rejected"]  # type: ignore[operator]


def _text(live: Live) -> str:
    """The CSV exactly as written (CRLF kept)."""
    return live.source.read_bytes().decode("utf-8")


def _cut(path: Path, keep: Callable[[int], int]) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep(len(data))])


# --- source integrity: what the formats allow checking ------------------------------------

@pytest.mark.parametrize("live", ["shapefile"], indirect=True)
def test_truncated_dbf(live: Live) -> None:
    before = live.current()
    dbf = live.source.with_suffix(".dbf")
    header_len = int.from_bytes(dbf.read_bytes()[8:10], "little")
    record_len = int.from_bytes(dbf.read_bytes()[10:12], "little")
    _cut(dbf, lambda n: header_len + 150 * record_len)
    code, out = live.run()
    _refused(live, before, code, out, "baenke.dbf", "announces 300 records",
             "holds 150", "cut off")


@pytest.mark.parametrize("live", ["shapefile"], indirect=True)
def test_truncated_shp(live: Live) -> None:
    before = live.current()
    _cut(live.source, lambda n: n // 2)
    code, out = live.run()
    _refused(live, before, code, out, "baenke.shp", "the header announces", "cut off")


@pytest.mark.parametrize("live", ["shapefile"], indirect=True)
def test_shx_and_dbf_disagree(live: Live) -> None:
    before = live.current()
    _cut(live.source.with_suffix(".shx"), lambda n: 100 + 8 * 200)
    code, out = live.run()
    _refused(live, before, code, out, "the .shx indexes 200 shapes, the .dbf holds 300")


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_csv_cut_mid_line(live: Live) -> None:
    before = live.current()
    text = _text(live)
    live.source.write_bytes(text[: len(text) - 9].encode())  # inside the last line
    code, out = live.run()
    _refused(live, before, code, out, "baenke.csv", "line 301", "cut off")


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_csv_cut_inside_the_last_field(live: Live) -> None:
    before = live.current()
    text = _text(live)
    live.source.write_bytes(text[: len(text) - 4].encode())  # "...,12" of "...,1234"
    code, out = live.run()
    _refused(live, before, code, out, "the last line (line 301) has no line end")


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_csv_wrong_delimiter(live: Live) -> None:
    before = live.current()
    live.source.write_bytes(badinput.csv_text(",").encode())
    code, out = live.run()
    _refused(live, before, code, out, "the descriptor says delimiter ';'",
             "the header is separated by ','")


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_csv_duplicate_column_name(live: Live) -> None:
    before = live.current()
    text = live.source.read_text(encoding="utf-8").replace("NR;NAME;X;Y", "NR;NAME;X;X", 1)
    live.source.write_bytes(text.encode())
    code, out = live.run()
    _refused(live, before, code, out, "used twice in the header: X")


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_cp1252_csv_without_bom_is_read(live: Live) -> None:
    """Not an error: an old Excel export (CP1252, no BOM) is detected and read."""
    live.source.write_bytes(badinput.csv_text().encode("cp1252"))
    code, out = live.run()
    assert code == 0, out
    report = live.latest()
    assert report["status"] == "published" and report["source"]["encoding"] == "cp1252"  # type: ignore[index]
    store = live.data / "publish" / "benches" / "current" / "benches.gpkg"
    names = set(pyogrio.read_dataframe(store)["name"])
    assert "Bank Magdalenengärten" in names and "Bank Steinberg (Süd)" in names


@pytest.mark.parametrize("live", ["geojson"], indirect=True)
def test_geojson_saved_as_latin1(live: Live) -> None:
    before = live.current()
    text = live.source.read_text(encoding="utf-8")
    live.source.write_bytes(text.encode("latin-1"))
    code, out = live.run()
    _refused(live, before, code, out, "GeoJSON must be UTF-8", "byte 0xe4")


@pytest.mark.parametrize("live", ["geojson"], indirect=True)
def test_geojson_declared_in_another_encoding(live: Live) -> None:
    before = live.current()
    text = live.desc.read_text(encoding="utf-8").replace("  format: geojson\n",
                                                         "  format: geojson\n  encoding: cp1252\n")
    live.desc.write_text(text, encoding="utf-8")
    code, out = live.run()
    _refused(live, before, code, out, "GeoJSON is always UTF-8")


# --- CRS sanity -----------------------------------------------------------------------------

@pytest.mark.parametrize("live", ["shapefile"], indirect=True)
def test_declared_crs_contradicts_the_prj(live: Live) -> None:
    before = live.current()
    live.describe(crs="EPSG:31467")
    code, out = live.run()
    _refused(live, before, code, out, "source.crs EPSG:31467", "the file says EPSG:25832")


@pytest.mark.parametrize("live", ["geojson"], indirect=True)
def test_geojson_crs_member_contradicts_the_descriptor(live: Live) -> None:
    before = live.current()
    live.describe(crs="EPSG:4326")
    code, out = live.run()
    _refused(live, before, code, out, "source.crs EPSG:4326", "the file says EPSG:25832")


@pytest.mark.parametrize("live", ["csv"], indirect=True)
@pytest.mark.parametrize("code_", ["EPSG:4362", "EPSG:4978", "EPSG:4979", "EPSG:5783"])
def test_only_horizontal_2d_crs(live: Live, code_: str) -> None:
    before = live.current()
    live.describe(crs=code_)
    code, out = live.run()
    _refused(live, before, code, out, f"'{code_}'", "a horizontal 2D CRS is needed")


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_bbox_in_degrees_is_caught_by_check(live: Live) -> None:
    live.describe(bbox=(9.85, 52.1, 10.05, 52.2))
    proc = gdi("check", str(live.desc), data_dir=live.data, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "outside the area of use of EPSG:25832" in proc.stderr, proc.stderr


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_wrong_crs_without_prj_is_refused_with_a_hint(live: Live) -> None:
    """A CSV says nothing of its CRS: every position falls outside the area."""
    before = live.current()
    live.describe(crs="EPSG:31467")
    code, out = live.run()
    _refused(live, before, code, out, "all 300 records were rejected for the same reason",
             "is source.crs (EPSG:31467) right?", "The positions fit EPSG:25832",
             status="refused")


# --- the publication guard ------------------------------------------------------------------

@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_all_geometries_null(live: Live) -> None:
    before = live.current()
    lines = _text(live).split("\r\n")
    blank = [lines[0]] + [";".join([*ln.split(";")[:2], "", ""]) for ln in lines[1:-1]] + [""]
    live.source.write_bytes("\r\n".join(blank).encode())
    code, out = live.run()
    _refused(live, before, code, out, "all 300 records were rejected for the same reason: "
             "coordinates missing", "--accept-drop", status="refused")
    assert live.latest()["rejected"] == 300


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_every_record_rejected_accepted_deliberately(live: Live) -> None:
    """--accept-drop publishes even an empty result, without a crash."""
    lines = _text(live).split("\r\n")
    blank = [lines[0]] + [";".join(["", *ln.split(";")[1:]]) for ln in lines[1:-1]] + [""]
    live.source.write_bytes("\r\n".join(blank).encode())
    code, out = live.run("--accept-drop")
    assert code == 0, out
    report = live.latest()
    assert report["status"] == "published" and report["published"] == 0
    assert report["guard"]["accepted"] is True  # type: ignore[index]
    store = live.data / "publish" / "benches" / "current" / "benches.gpkg"
    assert pyogrio.read_info(store)["features"] == 0


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_drop_is_refused_and_versions_survive(live: Live) -> None:
    before = live.current()
    text = _text(live)
    lines = text.split("\r\n")
    live.source.write_bytes(("\r\n".join(lines[:201]) + "\r\n").encode())  # 200 of 300
    code, out = live.run()
    _refused(live, before, code, out, "drops from 300", "to 200 (-33%, more than 10%)",
             "is the export complete?", status="refused")
    # the good export again: every object keeps its version (the refused run changed nothing)
    live.source.write_bytes(text.encode())
    code, out = live.run()
    assert code == 0, out
    assert live.latest()["lifespan"] == {"unchanged": 300, "new_or_changed": 0}
    # a real drop, accepted deliberately: promoted, and the 200 unchanged keep their version
    live.source.write_bytes(("\r\n".join(lines[:201]) + "\r\n").encode())
    code, out = live.run("--accept-drop")
    assert code == 0 and "accepted (--accept-drop)" in out, out
    assert live.latest()["lifespan"] == {"unchanged": 200, "new_or_changed": 0}


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_rejected_share_above_threshold(live: Live) -> None:
    before = live.current()
    lines = _text(live).split("\r\n")
    bad = [lines[0]] + [(";".join(["", *ln.split(";")[1:]]) if i % 2 else ln)
                        for i, ln in enumerate(lines[1:-1])] + [""]
    live.source.write_bytes("\r\n".join(bad).encode())
    code, out = live.run()
    _refused(live, before, code, out, "150 of 300 records rejected (50%, more than 25%)",
             "required value missing", status="refused")


# --- runs that meet each other --------------------------------------------------------------

@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_two_runs_at_once(live: Live) -> None:
    before = live.current()
    lock = live.data / "publish" / "benches" / ".lock"
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run under way holds it
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"4242", 0)
        code, out = live.run()
    finally:
        os.close(fd)
    _refused(live, before, code, out, "another run of benches is under way (pid 4242)")
    code, out = live.run()
    assert code == 0, out


@pytest.mark.parametrize("live", ["csv"], indirect=True)
def test_killed_runs_staging_folder_is_removed(live: Live) -> None:
    releases = live.data / "publish" / "benches" / "releases"
    stale = releases / ".20260101T000000Z.999999.partial"
    (stale / "internal").mkdir(parents=True)
    (stale / "benches.gpkg").write_bytes(b"half a file")
    code, out = live.run()
    assert code == 0, out
    assert not stale.exists()
    assert not [p for p in releases.iterdir() if p.name.endswith(".partial")]
