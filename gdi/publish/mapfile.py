"""The INSPIRE View Service's mapfile, derived from the descriptors (built with mappyfile).

One layer per public collection, reading the live release's public GeoPackage (the same
store pygeoapi reads). INSPIRE layers carry their INSPIRE name (``publication.view.layer``)
and a default style ``inspire_common:DEFAULT``. GetFeatureInfo returns exactly the public
fields (``*_include_items`` lists them; never ``all``). The public mapfile reads no
internal store; the internal one (``internal=True``, for /internal/wms) reads them.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

import mappyfile

from gdi.descriptor import Descriptor, I18n, LabelSpec, ViewSpec
from gdi.errors import ServiceError
from gdi.metadata import catalogue
from gdi.metadata.context import Context
from gdi.publish.outputs import overview_file, overview_table
from gdi.publish.store import open_layer
from gdi.settings import Settings

MAX_IMAGE_PX = 2560  # the largest WIDTH/HEIGHT of a GetMap
SRS = "EPSG:25832 EPSG:4258 EPSG:4326 EPSG:3857 EPSG:3035"
DEFAULT_STYLE = "inspire_common:DEFAULT"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core
# The default styles of the INSPIRE data specifications (Technical Guidelines, chapter 11
# "Portrayal"; see docs/portrayal.md): fill, fill opacity (%), outline, outline width (px).
# SD.SpeciesDistribution.Default: "50% grey (#808080)" fill, solid black outline.
# AM.<ZoneType>.Default: red (#FF0000) fill at 50 % transparency, red outline of 2 px.
# LandUse.ExistingLandUse.Default: the HILUCS level-1 colour, black outline of 2 px.
STYLES: dict[str, dict[str, Any]] = {
    "SD.SpeciesDistribution": {"color": [128, 128, 128], "opacity": 100,
                               "outlinecolor": [0, 0, 0], "width": 1},
    "AM.RestrictedZonesAroundContaminatedSites": {"color": [255, 0, 0], "opacity": 50,
                                                  "outlinecolor": [255, 0, 0], "width": 2},
    "LU.ExistingLandUse": {"color": None, "opacity": 100, "outlinecolor": [0, 0, 0],
                           "width": 2},
}
STYLE_TITLES = {"SD.SpeciesDistribution": "Species Distribution Default Style",
                "AM.RestrictedZonesAroundContaminatedSites":
                    "Restricted Zones Around Contaminated Sites Default Style",
                "LU.ExistingLandUse": "Existing Land Use Default Style"}
# titles of an INSPIRE layer that groups several datasets (the TGs' layer titles)
LAYER_TITLES = {
    "SD.SpeciesDistribution": ("Verteilung der Arten", "INSPIRE: Verteilung der Arten"),
    "LU.ExistingLandUse": ("Bestehende Landnutzung", "INSPIRE: Bestehende Landnutzung"),
    "AM.RestrictedZonesAroundContaminatedSites": (
        "Schutzgebiete um kontaminierte Standorte",
        "INSPIRE: Schutzgebiete um kontaminierte Standorte"),
}
# HILUCS level 1 -> RGB (LU Technical Guidelines, 11.2, colour chart of the default style)
HILUCS_LEVEL1 = {"1": [180, 230, 110], "2": [100, 100, 100], "3": [150, 150, 150],
                 "4": [180, 120, 240], "5": [240, 120, 100], "6": [220, 220, 220]}
# labels: dark navy on a white halo (contrast 12:1 on white), apart from the grey outlines
LABEL_COLOUR = [25, 45, 95]
# a layer that is no INSPIRE layer (e.g. play equipment): the city's colours
_PLAIN = {"color": [70, 110, 180], "opacity": 100, "outlinecolor": [30, 60, 120], "width": 1}
# records per overview cell: (lower bound, colour); greys around the SD default's #808080,
# without the outline (1 ha cells at city scale would turn black)
OVERVIEW_RAMP = ((1, [215, 215, 215]), (10, [170, 170, 170]), (30, [110, 110, 110]),
                 (60, [50, 50, 50]))


def _colours(name: str, desc: Descriptor) -> dict[str, Any]:
    style = dict(STYLES.get(name, _PLAIN))
    if name == "LU.ExistingLandUse":
        hilucs = desc.inspire.mapping.get("hilucsLandUse") if desc.inspire else None
        if hilucs is None or not isinstance(hilucs.value, str):
            raise ServiceError(f"{desc.id}: the LU.ExistingLandUse style colours by HILUCS "
                               "level 1; map hilucsLandUse to one value")
        style["color"] = HILUCS_LEVEL1[hilucs.value[0]]
    return style


def _style(**kw: Any) -> dict[str, Any]:
    return {"__type__": "style", **kw}


def _classes(kind: str, title: I18n, view: ViewSpec, colours: dict[str, Any]
             ) -> list[dict[str, Any]]:
    cls: dict[str, Any] = {"__type__": "class", "name": title.de, "group": DEFAULT_STYLE}
    fill = {"color": colours["color"], "opacity": colours["opacity"]}
    line = {"outlinecolor": colours["outlinecolor"], "width": colours["width"]}
    if kind == "POLYGON" and view.ramp_field:
        return _ramp(view, line)
    if kind == "POLYGON":
        cls["styles"] = [_style(**fill), _style(**line)]
        return [cls]
    if view.size_m_field is None:
        cls["styles"] = [_style(symbol="circle", size=8, **fill, **line)]
        return [cls]
    # drawn as its real size (e.g. a crown): the field's value in metres, at least 3 pixels
    size = view.size_m_field
    cls["expression"] = f"([{size}] > 0)"
    cls["styles"] = [_style(symbol="circle", size=f"[{size}]", minsize=3, maxsize=80, **fill,
                            outlinecolor=colours["outlinecolor"])]
    return [cls, {"__type__": "class", "name": f"{title.de} (ohne Maß)", "group": DEFAULT_STYLE,
                  "styles": [_style(symbol="circle", size=4, minsize=3, **fill,
                                    outlinecolor=colours["outlinecolor"])]}]


# ColorBrewer YlOrRd (sequential, colour-blind safe), light to dark
RAMP = ([255, 255, 178], [254, 217, 118], [254, 178, 76], [253, 141, 60], [240, 59, 32],
        [189, 0, 38])


def _ramp(view: ViewSpec, line: dict[str, Any]) -> list[dict[str, Any]]:
    """Classes of ``view.ramp_field`` between ``view.ramp_breaks`` (legend: '3–6 m')."""
    field, unit = view.ramp_field, f" {view.ramp_unit}".rstrip()
    edges = [None, *view.ramp_breaks, None]
    out = []
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        cond = [f"[{field}] >= {lo}"] if lo is not None else []
        cond += [f"[{field}] < {hi}"] if hi is not None else []
        name = (f"unter {hi:g}{unit}" if lo is None else f"ab {lo:g}{unit}" if hi is None
                else f"{lo:g}–{hi:g}{unit}")
        colour = RAMP[min(k * (len(RAMP) - 1) // max(len(edges) - 2, 1), len(RAMP) - 1)]
        out.append({"__type__": "class", "name": name, "group": DEFAULT_STYLE,
                    "expression": "(" + " AND ".join(cond) + ")",
                    "styles": [_style(color=colour, opacity=100), _style(**line)]})
    return out


def _label(spec: LabelSpec) -> dict[str, Any]:
    return {"__type__": "label", "text": f"[{spec.field}]", "font": "sans", "type": "truetype",
            "size": 8, "color": LABEL_COLOUR, "outlinecolor": [255, 255, 255],
            "outlinewidth": 2, "position": "auto", "partials": False, "mindistance": 40,
            "buffer": 2, "maxscaledenom": spec.max_scale, "encoding": "UTF-8"}


def _layer(name: str, title: I18n, abstract: I18n, gpkg: Path, table: str, fields: list[str],
           kind: str, classes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "__type__": "layer", "name": name, "type": kind, "status": "ON",
        "connectiontype": "OGR", "connection": str(gpkg), "data": table,
        "projection": ["init=epsg:25832"], "template": f"{name}.html",
        "header": "header.html", "footer": "footer.html",
        "classgroup": DEFAULT_STYLE, "classes": classes,
        "metadata": {
            "wms_title": title.de, "wms_abstract": abstract.de, "wms_srs": SRS,
            "wms_title.eng": title.en, "wms_abstract.eng": abstract.en,
            "wfs_title": title.de, "wfs_abstract": abstract.de, "wfs_srs": "EPSG:25832",
            "wfs_enable_request": "*", "gml_types": "auto",
            "wms_include_items": ",".join(fields), "gml_include_items": ",".join(fields),
            "wms_style_inspire_common:DEFAULT_title": STYLE_TITLES.get(name, "Standard"),
            "gml_featureid": "local_id", "wms_enable_request": "* !GetStyles",
        },
    }


def _overview(name: str, title: I18n, gpkg: Path, table: str, grid_m: int,
              min_scale: float) -> dict[str, Any]:
    """The records per grid cell, drawn where the single records are not (beyond min_scale)."""
    area = "ha" if grid_m == 100 else "km²"
    cell_title = I18n(de=f"{title.de}: Anzahl je {area}", en=f"{title.en}: count per {area}")
    abstract = I18n(de=f"Anzahl je INSPIRE-Rasterzelle ({grid_m} m), für kleine Maßstäbe.",
                    en=f"Count per INSPIRE grid cell ({grid_m} m), for small scales.")
    bounds = [b for b, _ in OVERVIEW_RAMP] + [None]
    classes = []
    for (low, colour), high in zip(OVERVIEW_RAMP, bounds[1:], strict=True):
        expr = f"([count] >= {low})" if high is None else f"([count] >= {low} AND [count] < {high})"
        label = f"{low} und mehr" if high is None else f"{low}–{high - 1}"
        classes.append({"__type__": "class", "name": f"{label} je {area}", "group": DEFAULT_STYLE,
                        "expression": expr, "styles": [_style(color=colour)]})
    layer = _layer(name, cell_title, abstract, gpkg, table, ["cell_id", "count"], "POLYGON",
                   classes)
    layer["minscaledenom"] = min_scale
    layer["metadata"]["gml_featureid"] = "cell_id"
    # a drawing aid of the view service, not a dataset: the download services leave it out
    layer["metadata"]["wfs_enable_request"] = "!*"
    return layer


def _store(desc: Descriptor, live: Path, internal: bool) -> str:
    """The store a layer reads, relative to the release: the internal one for internal users."""
    if internal and (live / "internal" / f"{desc.id}.gpkg").exists():
        return f"internal/{desc.id}.gpkg"
    return f"{desc.id}.gpkg"


def _metadata_url(layer: dict[str, Any], url: str | None) -> None:
    """The layer's (and feature type's) MetadataURL: its dataset's record in the catalogue
    (CSW GetRecordById)."""
    if url:
        layer["metadata"].update({"wms_metadataurl_href": url, "wms_metadataurl_format":
                                  "text/xml", "wms_metadataurl_type": "ISO19115:2003",
                                  "wfs_metadataurl_href": url, "wfs_metadataurl_format":
                                  "text/xml", "wfs_metadataurl_type": "TC211"})


def build(settings: Settings, datasets: list[tuple[Descriptor, Path]],
          metadata_url: str, *, internal: bool = False,
          records: dict[str, str] | None = None, wfs_record: str = "",
          templates: dict[str, tuple[str, list[tuple[str, str]], set[str]]] | None = None) -> str:
    """The mapfile; ``templates`` receives, per layer, its title, (field, label) pairs and
    numeric fields; ``records``: collection -> URL of its metadata record; ``wfs_record``:
    the WFS's own record (INSPIRE download service extended capabilities, scenario 1)."""
    city = settings.city
    records = records or {}
    templates = {} if templates is None else templates
    layers = []
    # an INSPIRE layer name shared by several datasets stays one layer: a group of them
    shared = Counter(d.publication.view.layer or d.publication.collection
                     for d, _ in datasets)
    for desc, live in datasets:
        pub, view = desc.publication, desc.publication.view
        file = _store(desc, live, internal)
        current = settings.publish_dir / desc.id / "current"
        con, layer = open_layer(live / file)
        con.close()
        if layer.geometry is None:
            continue
        name = view.layer or pub.collection
        # a dense point layer with an overview: one INSPIRE layer (a group) of the records at
        # large scales and their counts per grid cell beyond detail_max_scale
        grouped = view.overview_grid_m is not None or shared[name] > 1
        kind = "POINT" if layer.is_point else "POLYGON"
        fields = ["local_id", *layer.fields]
        classes = _classes(kind, pub.title, view, _colours(name, desc))
        if view.label is not None:
            classes[0]["labels"] = [_label(view.label)]
        detail = _layer(pub.collection if grouped else name, pub.title, pub.description,
                        current / file, layer.table, fields, kind, classes)
        _metadata_url(detail, records.get(pub.collection))
        if view.size_m_field:
            detail["sizeunits"] = "meters"
        if view.detail_max_scale is not None:
            detail["maxscaledenom"] = view.detail_max_scale
        labels = {n: (f.title.de if f.title else n) for n, f in desc.fields.items()}
        numeric = {f for f in fields
                   if layer.fields.get(f, {}).get("type") in {"integer", "number", "boolean"}}
        templates[detail["name"]] = (pub.title.de, [(f, labels.get(f, f)) for f in fields],
                                     numeric)
        layers.append(detail)
        if not grouped:
            continue
        members = [detail]
        if view.overview_grid_m is not None:
            assert view.detail_max_scale is not None
            table = overview_table(desc)
            cells = _overview(table, pub.title, current / overview_file(desc), table,
                              view.overview_grid_m, view.detail_max_scale)
            templates[table] = (cells["metadata"]["wms_title"],
                                [("cell_id", "Rasterzelle (INSPIRE)"), ("count", "Anzahl")],
                                {"count"})
            _metadata_url(cells, records.get(pub.collection))
            members.append(cells)
            layers.append(cells)
        style_title = STYLE_TITLES.get(name, "Standard")
        group_title, group_abstract = (LAYER_TITLES[name] if shared[name] > 1
                                       and name in LAYER_TITLES else
                                       (pub.title.de, pub.description.de))
        for member in members:
            member["group"] = name
            member["metadata"].update({
                "wms_group_title": group_title, "wms_group_abstract": group_abstract,
                "wms_group_style_name": DEFAULT_STYLE, "wms_group_style_title": style_title,
                "wms_style_inspire_common:DEFAULT_title": style_title})
    base = settings.base_url + ("/internal" if internal else "")
    doc = {
        "__type__": "map", "name": city.slug, "status": "ON", "size": [800, 800],
        # the largest image a GetMap may ask for (a bounded request, docs/operations.md)
        "maxsize": MAX_IMAGE_PX,
        "extent": list(city.bbox), "units": "meters",
        "projection": ["init=epsg:25832"], "imagecolor": [255, 255, 255],
        "fontset": "fonts.txt",
        "symbols": [{"__type__": "symbol", "name": "circle", "type": "ellipse",
                     "filled": True, "points": [[1, 1]]}],
        "outputformats": [
            # GetFeatureInfo as JSON, any number of QUERY_LAYERS (OGR's GeoJSON writer takes
            # one layer only): a template, values JSON-escaped by MapServer (GFI_JSON)
            {"__type__": "outputformat", "name": "gfijson", "driver": "TEMPLATE",
             "mimetype": "application/json", "formatoption": [f"FILE={GFI_JSON}"]},
            # WFS GetFeature as GeoJSON
            {"__type__": "outputformat", "name": "geojson", "driver": "OGR/GEOJSON",
             "mimetype": "application/geo+json",
             "formatoption": ["FORM=SIMPLE", "STORAGE=memory"]}],
        "web": {"__type__": "web", "metadata": {
            "wms_title": f"Geodatendienste – {city.name.de} – Darstellungsdienst",
            "wms_abstract": f"INSPIRE-Darstellungsdienst (WMS 1.3.0) – {city.name.de}.",
            "wms_title.eng": f"Geodata services – {city.name.en} – view service",
            "wms_abstract.eng": f"INSPIRE view service (WMS 1.3.0) – {city.name.en}.",
            # WFS 2.0 for GIS clients, on the same stores and with the same fields
            "wfs_title": f"Geodatendienste – {city.name.de} – WFS",
            "wfs_abstract": f"Vektordaten – {city.name.de} (WFS 2.0), öffentliche Attribute.",
            "wfs_onlineresource": f"{base}/{'wms' if internal else 'wfs'}?",
            "wfs_srs": "EPSG:25832",
            "wfs_enable_request": "*", "wfs_getfeature_formatlist": "gml32,gml3,geojson",
            "wfs_compute_number_matched": "true", "wfs_languages": "ger,eng",
            **_wfs_inspire(settings, datasets, wfs_record),
            "wms_onlineresource": f"{base}/wms?", "wms_srs": SRS,
            # GetStyles is MapServer's own extension: its schema is not an official one
            "wms_enable_request": "* !GetStyles", "wms_feature_info_mime_type": "text/html",
            # no SLD=/SLD_BODY=: MapServer would fetch any URL a client names (SSRF)
            "ows_sld_enabled": "false",
            "wms_getfeatureinfo_formatlist":
                "text/plain,text/html,application/vnd.ogc.gml,application/json",
            "wms_languages": "ger,eng", "wms_inspire_capabilities": "url",
            "wms_inspire_metadataurl_href": metadata_url,
            "wms_inspire_metadataurl_format": "application/vnd.ogc.csw.GetRecordByIdResponse_xml",
            "wms_keywordlist_vocabulary": "ISO",
            "wms_keywordlist_ISO_items": "infoMapAccessService",
            "wms_keywordlist": f"{city.place},INSPIRE,Darstellungsdienst",
            "wms_fees": "keine",
            "wms_accessconstraints": city.catalogue.licence.title_de,
            "wms_contactperson": "Geodatenmanagement",
            "wms_contactposition": "pointOfContact",
            "wms_contactorganization": city.licence_holder,
            "wms_contactelectronicmailaddress": settings.email,
            "ows_rootlayer_title": city.name.de, "ows_rootlayer_name": city.slug,
        }},
        "layers": layers,
    }
    return str(mappyfile.dumps(doc))


def _wfs_inspire(settings: Settings, datasets: list[tuple[Descriptor, Path]], record: str
                 ) -> dict[str, str]:
    """The WFS as an INSPIRE direct-access download service: extended capabilities scenario 1
    (its record in the catalogue) with the spatial data set identifier of every dataset it
    serves, the datasets' resource identifiers (namespace + collection) as in their records."""
    if not record:
        return {}
    from gdi.metadata.catalogue import resource_id
    from gdi.metadata.context import Context

    ctx = Context.from_settings(settings)
    codes = [resource_id(d.publication.collection, ctx) for d, _ in datasets]
    return {"wfs_inspire_capabilities": "url", "wfs_inspire_metadataurl_href": record,
            "wfs_inspire_metadataurl_format": "application/vnd.ogc.csw.GetRecordByIdResponse_xml",
            "wfs_inspire_dsid_code": ",".join(codes),
            "wfs_inspire_dsid_ns": ",".join([ctx.namespace_base] * len(codes))}


GFI_JSON = "gfi.json.tmpl"  # MapServer accepts templates by extension
# ends the JSON template's feature list: a string no JSON-escaped value can produce; the front
# (nginx sub_filter) removes it with the comma before it, so clients get plain GeoJSON
GFI_JSON_END = '"gdi:end-of-features"'


def _json_template(templates: dict[str, tuple[str, list[tuple[str, str]], set[str]]]) -> str:
    """One template for every layer: a GeoJSON FeatureCollection (geometry null), each
    feature with its layer's name and its public fields as (escaped) strings."""
    parts = ["// MapServer Template\n", '{"type": "FeatureCollection", "features": [']
    # longest layer names first: MapServer finds a [resultset layer=...] block by prefix, so
    # the block of "trees_overview" must come before that of "trees"
    for name in sorted(templates, key=lambda n: (-len(n), n)):
        fields = list(dict.fromkeys(f for f, _ in templates[name][1]))
        numeric = templates[name][2]  # numbers (booleans as 0/1) as JSON numbers, or null
        props = ", ".join(
            f'{json.dumps(f)}: [item name={json.dumps(f)} nullformat="null"]' if f in numeric
            else f'{json.dumps(f)}: "[item name={json.dumps(f)} escape=json]"' for f in fields)
        ident = fields[0] if fields else "local_id"
        parts.append(f'[resultset layer={json.dumps(name)}][feature]{{"type": "Feature", '
                     f'"id": "[item name={json.dumps(ident)} escape=json]", '
                     f'"layer": {json.dumps(name)}, "geometry": null, '
                     f'"properties": {{{props}}}}},[/feature][/resultset]')
    parts.append(GFI_JSON_END + "]}\n")
    return "".join(parts)


def _write_templates(folder: Path, templates: dict[str, tuple[str, list[tuple[str, str]], set[str]]]
                     ) -> None:
    """GetFeatureInfo as HTML: a table per feature with the layer's (public) fields; values
    escaped by MapServer (``escape="html"``), labels escaped here."""
    head = "<!-- MapServer Template -->\n"
    (folder / "header.html").write_text(
        head + '<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8">'
        "<title>Sachdaten</title></head><body>\n", encoding="utf-8")
    (folder / "footer.html").write_text(head + "</body></html>\n", encoding="utf-8")
    (folder / GFI_JSON).write_text(_json_template(templates), encoding="utf-8")
    for name, (title, fields, _) in templates.items():
        rows = "".join(f'<tr><th scope="row">{html.escape(label)}</th>'
                       f'<td>[item name="{field}" escape="html"]</td></tr>\n'
                       for field, label in fields)
        (folder / f"{name}.html").write_text(
            f"{head}<table><caption>{html.escape(title)}</caption>\n{rows}</table>\n",
            encoding="utf-8")


def write(settings: Settings, datasets: list[tuple[Descriptor, Path]], folder: Path,
          log: Path, *, internal: bool = False) -> Path:
    """Write the mapfile, its GetFeatureInfo template and MapServer 8's config file.
    ``internal``: layers on the internal stores (every record and field), for /internal/wms."""
    folder.mkdir(parents=True, exist_ok=True)
    ctx = Context.from_settings(settings)
    ids = catalogue.record_ids(settings)
    metadata_url = settings.view_service_metadata_url or (
        ctx.record_url(ids["service:wms"]) if "service:wms" in ids else ctx.csw)
    records = {} if internal else {
        key.split(":", 1)[1]: ctx.record_url(value) for key, value in ids.items()
        if key.startswith("dataset:")}
    mapfile = folder / "wms.map"
    templates: dict[str, tuple[str, list[tuple[str, str]], set[str]]] = {}
    wfs_record = "" if internal or "service:wfs" not in ids else ctx.record_url(
        ids["service:wfs"])
    mapfile.write_text(build(settings, datasets, metadata_url, internal=internal,
                             templates=templates, records=records, wfs_record=wfs_record),
                       encoding="utf-8")
    _write_templates(folder, templates)
    if not FONT.exists():
        raise ServiceError(f"the labels' font {FONT} is missing", hint="run scripts/setup.sh")
    (folder / "fonts.txt").write_text(f"sans {FONT}\n", encoding="utf-8")
    config = {"__type__": "config", "env": {"MS_MAPFILE": str(mapfile), "MS_MAP_NO_PATH": "1",
                                            "MS_ERRORFILE": str(log)}}
    conf = folder / "mapserver.conf"
    conf.write_text(mappyfile.dumps(config), encoding="utf-8")
    return conf
