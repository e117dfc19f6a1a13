"""The state's LoD2 (AdV LoD2-DE, CityGML 1.0) for the synthetic city, with the merge's cases.

``generate`` reads ``alkis_gebaeude.gpkg`` and ``truth.csv`` of :mod:`gdi.samples.buildings`
and writes ``lod2/LoD2_32_<E>_<N>_1_NI.gml`` (one file per 1 km tile holding the centre of a
modelled building) and ``lod2_cases.csv`` (oid, case). Every building is the parametric
shell (:func:`gdi.city3d.parametric.roof_shell`) of its footprint rectangle with the true
roof form and heights. Defect records are not in the state's model. Of the others, chosen
with ``seed``, ``SHARE`` each are

* ``missing``: no LoD2 (a new building the state has not modelled yet);
* ``outdated``: modelled on an older footprint, moved ``SHIFT`` m along its long axis, with
  a ``Grundrissaktualitaet`` older than the ALKIS one;
* ``inconsistent``: eave and ridge ``RAISE`` m higher than the truth (the DOM disagrees);
* ``parts``: ``PARTS`` buildings (gable or flat roofs, at least 2.2 times as long as wide,
  eaves more than ``DROP`` + 1 m high) cut into two halves of their length, two
  BuildingParts (the second ``DROP`` m lower), the Building without geometry of its own;

all others ``current`` (footprint identical, ``Grundrissaktualitaet`` equal to or later
than the ALKIS date, roof as in the truth). The layout follows the real AdV tiles: the
``lod2Solid`` refers by ``xlink:href`` to the polygons of ``boundedBy``.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
from lxml import etree

from gdi.city3d import parametric
from gdi.city3d.model import Surface
from gdi.errors import SourceError
from gdi.samples.buildings import SampleError

SHARE, SHIFT, RAISE, DROP, PARTS = 0.03, 2.5, 4.0, 3.0, 2
GEMEINDE = "03254021"  # Hildesheim
DELIVERY = "2026-01-15"  # creationDate of the tiles, later than every ALKIS date
SRS = "urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH*GCG2016"
CASES = ("current", "missing", "outdated", "inconsistent", "parts")
CORE, BLDG = "http://www.opengis.net/citygml/1.0", "http://www.opengis.net/citygml/building/1.0"
GEN, GML = "http://www.opengis.net/citygml/generics/1.0", "http://www.opengis.net/gml"
XLINK, XSI = "http://www.w3.org/1999/xlink", "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"core": CORE, "gen": GEN, "bldg": BLDG, "gml": GML, "xlink": XLINK,
         "xsi": XSI}
_ADV = "http://repository.gdi-de.org/schemas/adv/citygml"
SCHEMA_LOCATION = (f"{CORE} {_ADV}/1.0/cityGMLBaseLoD2.xsd "
                   f"{BLDG} {_ADV}/building/1.0/buildingLoD2.xsd "
                   f"{GEN} {_ADV}/generics/1.0/genericsLoD2.xsd")
ALKIS_REFERENCE = f"{_ADV}/fdv/art.htm#_9100"
SURFACE_TAG = {kind: f"{{{BLDG}}}{kind}" for kind in ("GroundSurface", "WallSurface",
                                                      "RoofSurface", "ClosureSurface")}


@dataclass(frozen=True)
class _Solid:
    gid: str                    # gml:id of the Building or BuildingPart
    shell: tuple[Surface, ...]
    height: float               # measuredHeight: ridge - ground


@dataclass(frozen=True)
class _Model:
    oid: str
    function: str | None
    form: int
    date: str                   # Grundrissaktualitaet
    solids: tuple[_Solid, ...]  # one (the Building's own) or one per BuildingPart
    parted: bool


def _read(folder: Path) -> pd.DataFrame:
    """The ALKIS records joined with their truth, in GeoPackage order."""
    gpkg, truth_csv = folder / "alkis_gebaeude.gpkg", folder / "truth.csv"
    for path in (gpkg, truth_csv):
        if not path.is_file():
            raise SourceError(f"{path}: not found", hint="run gdi.samples.buildings first")
    gdf = pyogrio.read_dataframe(gpkg, layer="gebaeude")
    truth = pd.read_csv(truth_csv, keep_default_na=False, na_values=[],
                        dtype={"oid": str, "defect": str})
    if len(gdf) != len(truth) or (gdf["oid"].to_numpy() != truth["oid"].to_numpy()).any():
        raise SourceError(f"{truth_csv}: the records do not match {gpkg.name} row by row")
    return pd.DataFrame({"oid": truth["oid"], "gfk": gdf["gfk"], "geometry": gdf.geometry,
                         "date": gdf["grundrissaktualitaet"], "form": truth["roof_form"],
                         "ground": truth["ground_p05"], "eave": truth["eave"],
                         "ridge": truth["ridge"], "defect": truth["defect"]})


def _cases(rng: np.random.Generator, rows: pd.DataFrame, corners: np.ndarray) -> np.ndarray:
    """The case of every row: SHARE each at random, then PARTS long, tall buildings."""
    n = len(rows)
    case = np.full(n, "current", dtype=object)
    k = round(SHARE * n)
    order = rng.permutation(n)
    for i, name in enumerate(("missing", "outdated", "inconsistent")):
        case[order[i * k:(i + 1) * k]] = name
    length = np.hypot(*(corners[:, 1] - corners[:, 0]).T)
    width = np.hypot(*(corners[:, 2] - corners[:, 1]).T)
    tall = (rows["eave"] - rows["ground"]).to_numpy() > DROP + 1
    long = length >= 2.2 * width
    gable_or_flat = rows["form"].isin([parametric.GABLE, parametric.FLAT]).to_numpy()
    for fit in (tall & long & gable_or_flat, tall & long, tall):
        picked = [i for i in order[3 * k:] if fit[i] and case[i] == "current"]
        case[picked[:PARTS - int((case == "parts").sum())]] = "parts"
    return case


def _minus_years(day: str, years: int) -> str:
    d = dt.date.fromisoformat(day)
    return (d.replace(year=d.year - years, day=28) if (d.month, d.day) == (2, 29)
            else d.replace(year=d.year - years)).isoformat()


def _dates(rng: np.random.Generator, alkis: pd.Series, case: np.ndarray) -> list[str]:
    """Grundrissaktualitaet: older than ALKIS for ``outdated``, else equal (85 %) or later."""
    day = alkis.to_numpy().astype("datetime64[D]")
    later = np.where(rng.random(day.size) < 0.85, 0, rng.integers(1, 366, day.size))
    newer = np.maximum(day, np.minimum(day + later.astype("timedelta64[D]"),
                                       np.datetime64(DELIVERY)))
    first = np.datetime64("2005-01-01")
    span = int((np.datetime64("2022-12-31") - first) / np.timedelta64(1, "D"))
    older = first + rng.integers(0, span + 1, day.size).astype("timedelta64[D]")
    out = newer.astype(str).tolist()
    for i in np.flatnonzero(case == "outdated"):
        out[i] = str(older[i]) if older[i] < day[i] else _minus_years(str(day[i]), 3)
    return out


def _models(rows: pd.DataFrame, corners: np.ndarray, case: np.ndarray, dates: list[str],
            sign: np.ndarray) -> list[_Model]:
    out: list[_Model] = []
    for i, row in enumerate(rows.itertuples(index=False)):
        if case[i] == "missing":
            continue
        c, form = corners[i], int(row.form)
        ground, eave, ridge = float(row.ground), float(row.eave), float(row.ridge)
        if case[i] == "outdated":
            axis = c[1] - c[0]
            c = c + sign[i] * SHIFT * axis / np.hypot(*axis)
        elif case[i] == "inconsistent":
            eave, ridge = eave + RAISE, ridge + RAISE
        if case[i] == "parts":
            mid_a, mid_b = (c[0] + c[1]) / 2, (c[3] + c[2]) / 2
            halves = (np.array([c[0], mid_a, mid_b, c[3]]), np.array([mid_a, c[1], c[2], mid_b]))
            solids = tuple(
                _Solid(f"{row.oid}_BP{j + 1}",
                       parametric.roof_shell(half, ground, eave - j * DROP, ridge - j * DROP,
                                             form), ridge - j * DROP - ground)
                for j, half in enumerate(halves))
        else:
            solids = (_Solid(row.oid, parametric.roof_shell(c, ground, eave, ridge, form),
                             ridge - ground),)
        function = None if pd.isna(row.gfk) else str(row.gfk)
        out.append(_Model(row.oid, function, form, dates[i], solids, case[i] == "parts"))
    return out


def _poslist(ring: np.ndarray) -> str:
    """The closed ``gml:posList`` text of an open (n, 3) ring, at 1 mm."""
    closed = np.concatenate((ring, ring[:1])).ravel().tolist()
    return " ".join(["%.3f"] * len(closed)) % tuple(closed)


def _sub(parent: etree._Element, tag: str, text: str | None = None,
         **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _generic(parent: etree._Element, name: str, value: str) -> None:
    _sub(_sub(parent, f"{{{GEN}}}stringAttribute", name=name), f"{{{GEN}}}value", value)


def _boundary_template(kind: str) -> etree._Element:
    """``bldg:boundedBy`` with one surface of ``kind`` holding one polygon (id, posList
    empty); deep copies of it are four times faster than building each one anew."""
    boundary = etree.Element(f"{{{BLDG}}}boundedBy")
    multi = _sub(_sub(_sub(boundary, SURFACE_TAG[kind]), f"{{{BLDG}}}lod2MultiSurface"),
                 f"{{{GML}}}MultiSurface")
    polygon = _sub(_sub(multi, f"{{{GML}}}surfaceMember"), f"{{{GML}}}Polygon")
    ring = _sub(_sub(polygon, f"{{{GML}}}exterior"), f"{{{GML}}}LinearRing")
    _sub(ring, f"{{{GML}}}posList", srsDimension="3")
    return boundary


BOUNDARY = {kind: _boundary_template(kind) for kind in SURFACE_TAG}
POLYGON_ID, HREF = f"{{{GML}}}id", f"{{{XLINK}}}href"


def _geometry(obj: etree._Element, solid: _Solid) -> None:
    """measuredHeight, lod2Solid (xlink:href to the polygons) and one boundedBy per surface."""
    _sub(obj, f"{{{BLDG}}}measuredHeight", f"{solid.height:.3f}", uom="urn:adv:uom:m")
    composite = _sub(_sub(_sub(_sub(obj, f"{{{BLDG}}}lod2Solid"), f"{{{GML}}}Solid"),
                          f"{{{GML}}}exterior"), f"{{{GML}}}CompositeSurface")
    for i, surface in enumerate(solid.shell):
        pid = f"{solid.gid}_poly{i}"
        _sub(composite, f"{{{GML}}}surfaceMember", **{HREF: f"#{pid}"})
        boundary = copy.deepcopy(BOUNDARY[surface.kind])
        obj.append(boundary)
        polygon = boundary[0][0][0][0][0]
        polygon.set(POLYGON_ID, pid)
        polygon[0][0][0].text = _poslist(surface.rings[0])
        for ring in surface.rings[1:]:
            linear = _sub(_sub(polygon, f"{{{GML}}}interior"), f"{{{GML}}}LinearRing")
            _sub(linear, f"{{{GML}}}posList", _poslist(ring), srsDimension="3")


def _member(model: _Model) -> etree._Element:
    member = etree.Element(f"{{{CORE}}}cityObjectMember")
    building = _sub(member, f"{{{BLDG}}}Building", **{f"{{{GML}}}id": model.oid})
    _sub(building, f"{{{CORE}}}creationDate", DELIVERY)
    reference = _sub(building, f"{{{CORE}}}externalReference")
    _sub(reference, f"{{{CORE}}}informationSystem", ALKIS_REFERENCE)
    _sub(_sub(reference, f"{{{CORE}}}externalObject"), f"{{{CORE}}}name", model.oid)
    if not model.parted:
        _generic(building, "DatenquelleDachhoehe", "1000")
    _generic(building, "Gemeindeschluessel", GEMEINDE)
    _generic(building, "Grundrissaktualitaet", model.date)
    if model.function is not None:
        _sub(building, f"{{{BLDG}}}function", model.function)
    if not model.parted:
        _sub(building, f"{{{BLDG}}}roofType", str(model.form))
        _geometry(building, model.solids[0])
        return member
    for solid in model.solids:
        part = _sub(_sub(building, f"{{{BLDG}}}consistsOfBuildingPart"), f"{{{BLDG}}}BuildingPart",
                    **{f"{{{GML}}}id": solid.gid})
        _sub(part, f"{{{CORE}}}creationDate", DELIVERY)
        _generic(part, "DatenquelleDachhoehe", "1000")
        _generic(part, "Grundrissaktualitaet", model.date)
        _sub(part, f"{{{BLDG}}}roofType", str(model.form))
        _geometry(part, solid)
    return member


def _write_tile(path: Path, corner: tuple[int, int], size_km: int, models: list[_Model]) -> None:
    """One tile: gml:name, the envelope (the tile's extent, the heights of its buildings)."""
    name, (e_km, n_km) = path.stem, corner
    root = etree.Element(f"{{{CORE}}}CityModel", {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION},
                         nsmap=NSMAP)
    _sub(root, f"{{{GML}}}name", name)
    z = np.concatenate([r[:, 2] for m in models for s in m.solids for f in s.shell
                        for r in f.rings])
    envelope = _sub(_sub(root, f"{{{GML}}}boundedBy"), f"{{{GML}}}Envelope", srsName=SRS)
    for tag, x, y, h in (("lowerCorner", e_km, n_km, z.min()),
                         ("upperCorner", e_km + size_km, n_km + size_km, z.max())):
        _sub(envelope, f"{{{GML}}}{tag}", f"{x * 1000:.1f} {y * 1000:.1f} {h:.3f}",
             srsDimension="3")
    root.extend(_member(m) for m in models)
    etree.ElementTree(root).write(str(path), encoding="UTF-8", xml_declaration=True,
                                  standalone=True, pretty_print=True)


def generate(buildings_dir: Path, *, seed: int = 2016, tile_km: int = 1) -> Path:
    """Write ``lod2/`` tiles and ``lod2_cases.csv`` into ``buildings_dir``; return ``lod2/``.

    ``tile_km`` is the tile size in km (the file names keep AdV's ``_1_`` only for 1).
    """
    if tile_km < 1:
        raise SampleError(f"tile size {tile_km} km: at least 1 km is needed")
    rows = _read(buildings_dir)
    rows = rows[rows["defect"] == ""].reset_index(drop=True)
    corners = np.array([parametric.rectangle(g) for g in rows["geometry"]]).reshape(-1, 4, 2)
    rng = np.random.default_rng(seed)
    case = _cases(rng, rows, corners)
    dates = _dates(rng, rows["date"], case)
    sign = rng.choice([-1.0, 1.0], len(rows))
    tiles: dict[tuple[int, int], list[_Model]] = defaultdict(list)
    for model in _models(rows, corners, case, dates, sign):
        centre = np.mean([s.shell[0].rings[0][:, :2].mean(axis=0) for s in model.solids], axis=0)
        e, n = (int(v) for v in np.floor(centre / (1000 * tile_km)) * tile_km)
        tiles[e, n].append(model)
    out = buildings_dir / "lod2"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("LoD2_32_*_NI.gml"):
        old.unlink()
    for (e, n), models in sorted(tiles.items()):
        _write_tile(out / f"LoD2_32_{e}_{n}_{tile_km}_NI.gml", (e, n), tile_km, models)
    pd.DataFrame({"oid": rows["oid"], "case": case}).to_csv(
        buildings_dir / "lod2_cases.csv", index=False, encoding="utf-8")
    return out
