"""The INSPIRE feature types, read from the official XSDs (not typed in by hand).

For a feature type such as ``sd:SpeciesDistributionUnit`` this yields its properties in schema
order with multiplicity, nillability and kind, expanding data types (``speciesName`` ->
``SpeciesNameType`` -> ``referenceSpeciesId``...). The mapping check and the encoder both work
from this tree, so element order and voidability are exactly the schema's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gdi.errors import DescriptorError
from gdi.xsd import local_path

XS = "http://www.w3.org/2001/XMLSchema"
GML = "http://www.opengis.net/gml/3.2"
BASE_NS = "http://inspire.ec.europa.eu/schemas/base/"  # base types are encoded by gml.py
_GEOMETRY_TYPES = {"GeometryPropertyType", "MultiSurfacePropertyType", "SurfacePropertyType",
                   "PointPropertyType", "MultiPointPropertyType", "CurvePropertyType",
                   "MultiCurvePropertyType", "SolidPropertyType", "MultiGeometryPropertyType"}
MAX_DEPTH = 6


@dataclass(frozen=True)
class Prop:
    name: str
    ns: str
    kind: str  # identifier | geometry | reference | simple | measure | object
    simple_type: str | None
    min: int
    max: int | None  # None = unbounded
    nillable: bool
    object_element: tuple[str, str] | None  # (ns, name) of the wrapped object element
    children: tuple[Prop, ...]

    @property
    def optional(self) -> bool:
        return self.min == 0


@dataclass(frozen=True)
class FeatureType:
    ns: str
    prefix: str
    name: str
    schema_url: str
    properties: tuple[Prop, ...]


class _Schemas:
    """The application schema and the INSPIRE schemas it imports, parsed once."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.types: dict[tuple[str, str], etree._Element] = {}
        self.elements: dict[tuple[str, str], etree._Element] = {}
        self.prefixes: dict[str, str] = {}
        self._load(url, set())

    def _load(self, url: str, seen: set[str]) -> None:
        if url in seen:
            return
        seen.add(url)
        path = local_path(self.root, url)
        if not path.is_file():
            raise DescriptorError(f"INSPIRE schema {url} has no local copy at {path}")
        doc = etree.parse(str(path)).getroot()
        tns = doc.get("targetNamespace", "")
        for prefix, ns in doc.nsmap.items():
            if ns == tns and prefix:
                self.prefixes[tns] = prefix
        for el in doc.findall(f"{{{XS}}}complexType[@name]"):
            self.types[(tns, el.get("name"))] = el
        for el in doc.findall(f"{{{XS}}}element[@name]"):
            self.elements[(tns, el.get("name"))] = el
        for imp in doc.findall(f"{{{XS}}}import"):
            ns, loc = imp.get("namespace", ""), imp.get("schemaLocation", "")
            if "inspire.ec.europa.eu/schemas/" in ns and not ns.startswith(BASE_NS) and loc:
                self._load(loc, seen)

    def qname(self, node: etree._Element, value: str) -> tuple[str, str]:
        prefix, _, local = value.rpartition(":")
        return node.nsmap.get(prefix or None, ""), local


def _prop(s: _Schemas, el: etree._Element, tns: str, depth: int) -> Prop:
    name = el.get("name")
    lo = int(el.get("minOccurs", "1"))
    hi_raw = el.get("maxOccurs", "1")
    hi = None if hi_raw == "unbounded" else int(hi_raw)
    nillable = el.get("nillable") == "true"
    if el.get("type"):
        ns, local = s.qname(el, el.get("type"))
        kind, simple, obj, children = _classify(s, ns, local, depth)
    else:  # anonymous type: simpleContent extension, or a sequence wrapping an object element
        ext = el.find(f"{{{XS}}}complexType/{{{XS}}}simpleContent/{{{XS}}}extension")
        ref = el.find(f"{{{XS}}}complexType/{{{XS}}}sequence/{{{XS}}}element[@ref]")
        if ext is not None:
            ns, local = s.qname(ext, ext.get("base"))
            kind, simple, obj, children = _classify(s, ns, local, depth)
        elif ref is not None:
            kind, simple = "object", None
            obj = s.qname(ref, ref.get("ref"))
            children = _object_children(s, obj, depth)
        else:
            kind, simple, obj, children = "simple", "string", None, ()
    return Prop(name, tns, kind, simple, lo, hi, nillable, obj, children)


def _classify(s: _Schemas, ns: str, local: str, depth: int
              ) -> tuple[str, str | None, tuple[str, str] | None, tuple[Prop, ...]]:
    if ns == XS:
        return "simple", local, None, ()
    if ns == GML:
        if local in _GEOMETRY_TYPES:
            return "geometry", None, None, ()
        if local in {"MeasureType", "LengthType", "AreaType"}:
            return "measure", None, None, ()
        return "reference", None, None, ()
    if ns.startswith(BASE_NS) and local == "IdentifierPropertyType":
        return "identifier", None, None, ()
    ctype = s.types.get((ns, local))
    ref = None if ctype is None else ctype.find(f"{{{XS}}}sequence/{{{XS}}}element[@ref]")
    if ref is not None:
        obj = s.qname(ref, ref.get("ref"))
        return "object", None, obj, _object_children(s, obj, depth)
    return "reference", None, None, ()  # types of other models: by reference only


def _object_children(s: _Schemas, obj: tuple[str, str], depth: int) -> tuple[Prop, ...]:
    if depth >= MAX_DEPTH or obj not in s.elements:
        return ()
    el = s.elements[obj]
    ns, local = s.qname(el, el.get("type"))
    return _sequence(s, ns, local, depth + 1)


def _sequence(s: _Schemas, ns: str, local: str, depth: int) -> tuple[Prop, ...]:
    """Properties of a type in schema order: those of its base type (other than GML's
    abstract types) first, then its own."""
    ctype = s.types.get((ns, local))
    if ctype is None:
        return ()
    inherited: tuple[Prop, ...] = ()
    ext = ctype.find(f"{{{XS}}}complexContent/{{{XS}}}extension")
    if ext is not None:
        base_ns, base_local = s.qname(ext, ext.get("base"))
        if base_ns != GML:
            inherited = _sequence(s, base_ns, base_local, depth)
        seq = ext.find(f"{{{XS}}}sequence")
    else:
        seq = ctype.find(f"{{{XS}}}sequence")
    if seq is None:
        return inherited
    own = seq.findall(f"{{{XS}}}element[@name]")
    return inherited + tuple(_prop(s, el, ns, depth) for el in own)


@functools.lru_cache(maxsize=16)
def feature_type(root: Path, application_schema: str, name: str) -> FeatureType:
    """``feature_type(schemas, "sd/4.0", "SpeciesDistributionUnit")``."""
    folder = local_path(root, f"https://inspire.ec.europa.eu/schemas/{application_schema}/")
    xsds = sorted(folder.glob("*.xsd")) if folder.is_dir() else []
    for xsd_file in xsds:
        url = f"https://inspire.ec.europa.eu/schemas/{application_schema}/{xsd_file.name}"
        s = _Schemas(root, url)
        for (ns, el_name), el in s.elements.items():
            if el_name == name and ns.endswith(application_schema):
                tns, local = s.qname(el, el.get("type"))
                props = _sequence(s, tns, local, 0)
                return FeatureType(ns, s.prefixes.get(ns, "app"), name, url, props)
    raise DescriptorError(
        f"feature type '{name}' not found in INSPIRE schema '{application_schema}'",
        hint=f"schemas looked at: {', '.join(p.name for p in xsds) or 'none'}",
    )


def walk(props: tuple[Prop, ...], prefix: str = "") -> list[tuple[str, Prop]]:
    """All (dotted path, property) pairs, depth first, in schema order."""
    out: list[tuple[str, Prop]] = []
    for p in props:
        path = f"{prefix}{p.name}"
        out.append((path, p))
        out.extend(walk(p.children, path + "."))
    return out
