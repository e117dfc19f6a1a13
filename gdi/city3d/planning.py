"""Planned construction projects for the planning variant (docs/city3d.md, "Planning").

A planner drops one GeoJSON file per project into the descriptor's planning folder: a
FeatureCollection of the planned bodies, each a Polygon with the properties

- ``project`` (name), ``status`` (``planned``, ``approved`` or ``under_construction``),
  ``date`` (YYYY-MM-DD: the plan's date),
- ``height_m`` (above ground) or ``storeys`` (times ``storey_height_m``),
- ``replaces`` (optional): ALKIS ids of existing buildings the project replaces.

Existing buildings a planned body overlaps (by at least 1 m²) are replaced too. A file that
breaks a rule refuses the run with the file, the feature and the rule: neither model changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

import numpy as np
import shapely

from gdi import crs
from gdi.descriptor import PlanningSpec
from gdi.errors import GdiError

STATUS = ("planned", "approved", "under_construction")
MIN_OVERLAP_M2 = 1.0


class PlanningError(GdiError, ValueError):
    """A planning file breaks a rule; the run is refused and both models stay."""


@dataclasses.dataclass(frozen=True)
class PlannedBody:
    id: str
    project: str
    status: str
    date: str
    footprint: shapely.Polygon
    height_m: float
    file: str


@dataclasses.dataclass(frozen=True)
class Plan:
    bodies: tuple[PlannedBody, ...]
    replaced: dict[str, str]  # existing id -> the planned body that replaces it
    files: tuple[str, ...]


def _fail(where: str, message: str) -> PlanningError:
    return PlanningError(f"planning: {where}: {message}",
                         hint="correct the project file; nothing was published")


def _declared_crs(doc: dict[str, Any], default: str, where: str) -> str:
    member = doc.get("crs")
    if member is None:
        return default
    try:
        code = crs.parse_crs(str(member["properties"]["name"])).to_epsg()
    except (KeyError, TypeError, ValueError, GdiError):
        raise _fail(where, "the 'crs' member is not readable") from None
    if code is None:
        raise _fail(where, "the 'crs' member names no EPSG CRS")
    return f"EPSG:{code}"


def _body(feature: Any, k: int, doc_crs: str, spec: PlanningSpec, storage_crs: str,
          where: str) -> PlannedBody:
    here = f"{where}, feature {k + 1}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise _fail(here, "not a GeoJSON Feature")
    props = feature.get("properties") or {}
    try:
        geom = shapely.geometry.shape(feature.get("geometry"))
    except (AttributeError, TypeError, ValueError, shapely.errors.GEOSException):
        raise _fail(here, "geometry is not readable") from None
    if geom.geom_type != "Polygon" or geom.is_empty:
        raise _fail(here, f"geometry must be a Polygon (is {geom.geom_type})")
    if doc_crs != storage_crs:
        geom = crs.transform_geometry(geom, doc_crs, storage_crs, authority_order=False)
    if not geom.is_valid:
        raise _fail(here, f"invalid footprint ({shapely.is_valid_reason(geom)})")
    if geom.area < 1.0:
        raise _fail(here, f"footprint of {geom.area:.2f} m² (in {storage_crs}); "
                          "are the coordinates in the declared CRS?")
    name = str(props.get("project") or "").strip()
    if not name:
        raise _fail(here, "property 'project' (the project's name) is missing")
    status = props.get("status")
    if status not in STATUS:
        raise _fail(here, f"status {status!r} is not one of {', '.join(STATUS)}")
    date = str(props.get("date") or "")
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise _fail(here, f"date {date!r} is not YYYY-MM-DD") from None
    height, storeys = props.get("height_m"), props.get("storeys")
    if height is None and storeys is None:
        raise _fail(here, "give 'height_m' or 'storeys'")
    try:
        h = (float(height) if height is not None
             else float(storeys) * spec.storey_height_m)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _fail(here, "height_m/storeys must be numbers") from None
    if not 2.0 <= h <= 300.0:
        raise _fail(here, f"height {h:g} m outside 2-300 m")
    ident = str(props.get("id") or f"{_slug(name)}-{k + 1}")
    return PlannedBody(ident, name, str(status), date, geom, round(h, 3), where)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:40] or "projekt"


def read(spec: PlanningSpec, storage_crs: str, bbox: tuple[float, float, float, float],
         existing_ids: np.ndarray, existing: np.ndarray) -> Plan:
    """Every project file of the planning folder, checked; which existing bodies go."""
    files = sorted(spec.folder.glob("*.geojson")) if spec.folder.is_dir() else []
    bodies: list[PlannedBody] = []
    replaced: dict[str, str] = {}
    known = {str(i): n for n, i in enumerate(existing_ids)}
    tree = shapely.STRtree(existing)
    for path in files:
        where = path.name
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _fail(where, f"not valid UTF-8 JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
                or not doc.get("features"):
            raise _fail(where, "not a GeoJSON FeatureCollection with features")
        doc_crs = _declared_crs(doc, spec.crs, where)
        for k, feature in enumerate(doc["features"]):
            body = _body(feature, k, doc_crs, spec, storage_crs, where)
            minx, miny, maxx, maxy = body.footprint.bounds
            if minx < bbox[0] or miny < bbox[1] or maxx > bbox[2] or maxy > bbox[3]:
                raise _fail(f"{where}, feature {k + 1}", "footprint outside the city's area")
            if any(b.id == body.id for b in bodies):
                raise _fail(f"{where}, feature {k + 1}", f"id {body.id!r} used twice")
            for ref in (feature.get("properties") or {}).get("replaces") or []:
                if str(ref) not in known:
                    raise _fail(f"{where}, feature {k + 1}",
                                f"replaces {ref!r}, which is not in the existing model")
                replaced[str(ref)] = body.id
            for n in tree.query(body.footprint, predicate="intersects"):
                if shapely.area(shapely.intersection(existing[n], body.footprint)) \
                        >= MIN_OVERLAP_M2:
                    replaced.setdefault(str(existing_ids[n]), body.id)
            bodies.append(body)
    planned = [b.footprint for b in bodies]
    for i, a in enumerate(planned):
        for j in range(i + 1, len(planned)):
            if shapely.area(shapely.intersection(a, planned[j])) >= MIN_OVERLAP_M2:
                raise _fail(bodies[j].file, f"planned bodies {bodies[i].id!r} and "
                                            f"{bodies[j].id!r} overlap")
    return Plan(tuple(bodies), replaced, tuple(p.name for p in files))
