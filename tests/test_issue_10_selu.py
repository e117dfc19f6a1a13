"""Issue 10, land-use points: a point register becomes INSPIRE Sampled Existing Land Use
(selu/4.0), valid against the official schemas, by a descriptor alone."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from gdi.xsd import schema_for, validate_file
from tests.conftest import ROOT, SHARED, Published, gdi, playground_points

SELU = "http://inspire.ec.europa.eu/schemas/selu/4.0"
SELU_XSD = "https://inspire.ec.europa.eu/schemas/selu/4.0/SampledExistingLandUse.xsd"
WFS = "http://www.opengis.net/wfs/2.0"
DESC = ROOT / "tests" / "descriptors" / "selu" / "playground_points.yml"


def test_land_use_points_are_valid_selu(published: Published, tmp_path: Path) -> None:
    data = tmp_path / "data"
    playground_points(published, data, "playground_points")
    check = gdi("check", str(DESC), data_dir=data)
    assert "selu:ExistingLandUseSample fully mapped" in check.stdout
    gdi("run", str(DESC), "-q", "--report", str(tmp_path / "r.json"), data_dir=data)
    r = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert r["inspire"]["feature_type"] == "selu:ExistingLandUseSample"
    assert r["inspire"]["valid"] is True and r["inspire"]["members"] == r["published"] > 100
    gml = data / "publish" / "playground_points" / "current" / "playground_points.inspire.gml"
    schema = schema_for(SHARED / "inspire-schemas",
                        [(WFS, "http://schemas.opengis.net/wfs/2.0/wfs.xsd"), (SELU, SELU_XSD)])
    validate_file(gml, schema)  # again, independently of the run
    doc = etree.parse(str(gml))
    samples = doc.findall(f"{{{WFS}}}member/{{{SELU}}}ExistingLandUseSample")
    assert len(samples) == r["published"]
    assert doc.find(f"{{{WFS}}}member/{{{SELU}}}SampledExistingLandUseDataSet") is not None
    assert samples[0].find(f"{{{SELU}}}location//{{http://www.opengis.net/gml/3.2}}Point") \
        is not None
