"""Bad input: one clear message naming the file and what to do, exit code != 0, no traceback,
no partial publication. Each case runs the real ``gdi`` command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyogrio
import pytest

from tests.conftest import ROOT, Published, gdi

TREES = (ROOT / "datasets" / "trees.yml").read_text(encoding="utf-8")


def _descriptor(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "datasets"
    folder.mkdir(exist_ok=True)
    shutil.copy(ROOT / "datasets" / "species.csv", folder / "species.csv")
    path = folder / "trees.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(tmp_path: Path, desc: Path) -> tuple[int, str]:
    proc = gdi("run", str(desc), "-q", data_dir=tmp_path / "data", check=False)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "data" / "publish" / "trees" / "current").exists()
    return proc.returncode, proc.stderr


def _with_source(tmp_path: Path, published: Published, **replace: str) -> Path:
    src = tmp_path / "src"
    shutil.copytree(published.data_dir / "sources" / "trees", src)
    text = TREES.replace("${GDI_SOURCES_DIR}/trees", str(src))
    for old, new in replace.items():
        text = text.replace(old, new)
    return _descriptor(tmp_path, text)


def test_missing_file(tmp_path: Path) -> None:
    code, err = _run(tmp_path, _descriptor(tmp_path, TREES))
    assert code == 2 and "baumkataster.shp: source file not found" in err
    assert "What to do" in err


def test_descriptor_typo_names_file_key_and_suggestion(tmp_path: Path) -> None:
    desc = _descriptor(tmp_path, TREES.replace("  encoding: cp1252", "  encodng: cp1252"))
    code, err = _run(tmp_path, desc)
    assert code == 2 and str(desc) in err
    assert "source.encodng" in err and "did you mean 'encoding'" in err


def test_mapping_must_cover_every_inspire_property(tmp_path: Path) -> None:
    text = TREES.replace("    spatialObject: {void: Unpopulated}\n", "")
    code, err = _run(tmp_path, _descriptor(tmp_path, text))
    assert code == 2 and "neither mapped nor voided: spatialObject" in err


def test_void_where_the_schema_forbids_nil(tmp_path: Path) -> None:
    text = TREES.replace("    geometry: {geometry: true}", "    geometry: {void: Unknown}")
    code, err = _run(tmp_path, _descriptor(tmp_path, text))
    assert code == 2 and "inspire.mapping.geometry" in err and "does not allow nil" in err


def test_code_list_value_must_exist(tmp_path: Path) -> None:
    text = TREES.replace("codelist: OccurrenceCategoryValue, value: present",
                         "codelist: OccurrenceCategoryValue, value: everywhere")
    code, err = _run(tmp_path, _descriptor(tmp_path, text))
    assert code == 2 and "'everywhere' is not a value of code list" in err


def test_unknown_encoding(tmp_path: Path, published: Published) -> None:
    code, err = _run(tmp_path, _with_source(tmp_path, published,
                                            **{"encoding: cp1252": "encoding: klingon"}))
    assert code == 2 and "unknown encoding 'klingon'" in err


def test_dbf_bytes_not_what_the_descriptor_says(tmp_path: Path, published: Published) -> None:
    code, err = _run(tmp_path, _with_source(tmp_path, published,
                                            **{"encoding: cp1252": "encoding: utf-8"}))
    assert code == 2 and "baumkataster.dbf" in err and "bytes are not utf-8" in err


def test_unknown_crs(tmp_path: Path, published: Published) -> None:
    code, err = _run(tmp_path, _with_source(tmp_path, published,
                                            **{"crs: EPSG:31467": "crs: EPSG:99999"}))
    assert code == 2 and "unknown CRS 'EPSG:99999'" in err


def test_zero_records(tmp_path: Path, published: Published) -> None:
    desc = _with_source(tmp_path, published)
    shp = tmp_path / "src" / "baumkataster.shp"
    frame = pyogrio.read_dataframe(shp, encoding="cp1252").iloc[:0]
    pyogrio.write_dataframe(frame, shp, encoding="cp1252")
    code, err = _run(tmp_path, desc)
    assert code == 2 and "zero records" in err


@pytest.mark.parametrize("column", ["BAUMART"])
def test_missing_column_names_descriptor_key(tmp_path: Path, published: Published,
                                             column: str) -> None:
    desc = _with_source(tmp_path, published, **{f"source: {column}": "source: BAUMARTX"})
    code, err = _run(tmp_path, desc)
    assert code == 2 and "fields.species_text.source" in err and "BAUMARTX" in err


def test_constant_of_the_wrong_type_is_a_descriptor_error(tmp_path: Path) -> None:
    text = TREES.replace("populationSize.upperBound: {value: 1}",
                         "populationSize.upperBound: {value: many}")
    code, err = _run(tmp_path, _descriptor(tmp_path, text))
    assert code == 2 and "'many' is not an xs:integer" in err


def test_schema_invalid_output_fails_the_run_and_publishes_nothing(
        tmp_path: Path, published: Published) -> None:
    # a text field mapped onto an xs:integer: only the official schema can tell
    desc = _with_source(tmp_path, published, **{
        "populationSize.upperBound: {value: 1}": "populationSize.upperBound: {field: street}"})
    code, err = _run(tmp_path, desc)
    assert code == 2 and "not valid against the official schema" in err and "upperBound" in err
    releases = tmp_path / "data" / "publish" / "trees" / "releases"
    assert not releases.exists() or not any(releases.iterdir())
