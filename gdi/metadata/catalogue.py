"""The catalogue: every record built, checked, date-stamped and published atomically.

``<data>/catalogue/releases/<run>/`` holds one complete catalogue: ``records/<uuid>.xml``,
``html/<uuid>.html``, pycsw's SQLite repository ``records.db`` and ``state.json``;
``current`` points at the live one (:mod:`gdi.publish.release`, the same mechanism as the
datasets'). pycsw opens ``current/records.db`` per request, so a new catalogue is live with
one ``rename(2)`` and a failed build leaves the live one exactly as it was.

What harvesters (GeoNetwork at GDI-NI and Geodatenkatalog.de) rely on:
- ``fileIdentifier`` never changes: derived once from the municipality key and the record's
  key (or taken from the descriptor), then kept in the ledger of ``state.json`` for good, so a
  dataset that leaves and comes back gets its old identifier again;
- ``dateStamp`` changes only when the record's content does: each record is serialised with a
  placeholder stamp and hashed; an unchanged hash keeps the old stamp (the file stays
  byte-identical), a changed one gets the time of this build;
- a record whose dataset is gone from the configuration is not in the new catalogue, so
  harvesters delete it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdi.errors import PublicationError
from gdi.metadata import html, iso, model3d, rules
from gdi.metadata.context import Context
from gdi.metadata.dataset import DATESTAMP, DatasetEntry, dataset_record
from gdi.metadata.facts import release_facts
from gdi.metadata.iso import Element, Text
from gdi.metadata.service import ServiceSpec, service_record, service_specs
from gdi.publish import release
from gdi.publish.atom import feeds
from gdi.publish.atom import rules as atom_rules
from gdi.settings import Settings
from gdi.xsd import schema_for, validate_tree

NAME = "catalogue"


@dataclass
class CatalogueReport:
    release: str = ""
    records: dict[str, str] = field(default_factory=dict)  # key -> fileIdentifier
    changed: list[str] = field(default_factory=list)  # keys whose dateStamp moved
    removed: list[str] = field(default_factory=list)  # keys no longer published

    def summary(self) -> str:
        return (f"catalogue: {len(self.records)} records, {len(self.changed)} new or changed"
                + (f", {len(self.removed)} withdrawn" if self.removed else ""))


def live(settings: Settings) -> Path | None:
    return release.current(settings.data_dir, NAME)


def read_state(folder: Path | None) -> dict[str, Any]:
    if folder is None or not (folder / "state.json").exists():
        return {"ledger": {}, "records": {}}
    state: dict[str, Any] = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    return state


def record_ids(settings: Settings) -> dict[str, str]:
    """key ("dataset:trees", "service:wms") -> fileIdentifier of the live catalogue."""
    return {k: v["file_identifier"] for k, v in read_state(live(settings))["records"].items()}


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _derived_id(ctx: Context, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL,
                          f"urn:de:ags:{ctx.municipality_key}:gdi:metadata:{key}"))


def _identify(key: str, wanted: str | None, ledger: dict[str, Any], ctx: Context, today: str
              ) -> tuple[str, str]:
    """(fileIdentifier, day first published) of a record: the ledger's, for good."""
    known = ledger.get(key)
    if known is not None:
        if wanted is not None and wanted != known["file_identifier"]:
            raise PublicationError(
                f"{key}: the descriptor's file_identifier {wanted} differs from the one "
                f"published before ({known['file_identifier']}); a record is never re-created "
                "under a new identifier", hint="remove metadata.file_identifier or set it to "
                                               "the published one")
        return str(known["file_identifier"]), str(known["created"])
    ident = wanted or _derived_id(ctx, key)
    taken = {v["file_identifier"]: k for k, v in ledger.items()}
    if ident in taken:
        raise PublicationError(f"{key}: file identifier {ident} belongs to {taken[ident]}")
    ledger[key] = {"file_identifier": ident, "created": today}
    return ident, today


def _entries(settings: Settings, ctx: Context, ledger: dict[str, Any],
             previous: dict[str, Any], today: str) -> list[DatasetEntry]:
    from gdi.publish import ogcapi

    entries = []
    for desc, live_release in ogcapi.published(settings):
        pub = desc.publication
        parts = {pub.collection: (f"{desc.id}.gpkg", desc.metadata.temporal_field)}
        if pub.aggregate is not None:
            parts[pub.aggregate.collection] = (f"{pub.aggregate.collection}.gpkg", None)
        facts = release_facts(live_release, parts, desc.storage_crs)
        files = [f for f in ogcapi.download_files(desc, settings.city.download_crs)
                 if (live_release / f).exists()]
        model3d_files = model3d.read(desc, live_release, ctx.base_url)
        for name, collection in facts.collections.items():
            aggregate = name != pub.collection
            key = f"dataset:{name}"
            file_id, _ = _identify(key, None if aggregate else desc.metadata.file_identifier,
                                   ledger, ctx, today)
            before = previous.get(key, {})
            revised = (before["revised"] if before.get("fingerprint") == collection.fingerprint
                       else facts.published_on or today)
            mine = [f for f in files if f.startswith(f"{name if aggregate else desc.id}.")]
            spec = pub.aggregate if aggregate else None
            entries.append(DatasetEntry(
                key=key, desc=desc, collection=name,
                title=spec.title if spec else pub.title,
                description=spec.description if spec else pub.description,
                aggregate=aggregate, facts=collection, release=facts,
                file_identifier=file_id, identifier=resource_id(name, ctx),
                revised=revised, files=tuple(mine),
                wms_layer=None if aggregate else (pub.view.layer or pub.collection),
                whole3d=() if aggregate else model3d_files[0],
                tiled3d=() if aggregate else model3d_files[1]))
    return entries


def resource_id(collection: str, ctx: Context) -> str:
    """Namespace + local id (GDI-DE): the city's namespace and the collection's name, unique
    among the published datasets as the collections are."""
    return f"{ctx.namespace_base}/{collection}"


def _links(entry: DatasetEntry, ctx: Context) -> list[tuple[str, str, str | None, Text, str]]:
    base = ctx.base_url
    out: list[tuple[str, str, str | None, Text, str]] = []
    if entry.wms_layer is not None:
        out.append((f"{base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities", "OGC:WMS",
                    entry.wms_layer, Text("Darstellungsdienst (WMS 1.3.0), Ebene "
                                          f"{entry.wms_layer}", "View service (WMS 1.3.0)"),
                    "information"))
        out.append((f"{base}/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetCapabilities", "OGC:WFS",
                    None, Text("Downloaddienst mit Direktzugriff (WFS 2.0, öffentliches Schema)",
                               "Direct access download service (WFS 2.0, public schema)"),
                    "download"))
    if entry.files:
        out.append((f"{base}/atom/{entry.collection}.xml", "INSPIRE Atom", None,
                    Text("Downloaddienst (INSPIRE Atom): Dataset-Feed mit allen Dateien",
                         "Download service (INSPIRE Atom): dataset feed with every file"),
                    "download"))
    out.append((f"{base}/ogcapi/collections/{entry.collection}", "OGC API - Features",
                entry.collection, Text("Objekte über OGC API Features (GeoJSON, HTML)",
                                       "Features through OGC API Features (GeoJSON, HTML)"),
                "information"))
    for name in entry.files:
        out.append((f"{base}/downloads/{entry.desc.id}/{name}",
                    "WWW:DOWNLOAD-1.0-http--download", name,
                    Text(f"Download: {name}"), "download"))
    return out + model3d.links(entry.whole3d, entry.tiled3d, ctx.base_url)


def _serialise(root: Element, stamp: str) -> bytes:
    data = iso.serialise(root)
    return data.replace(DATESTAMP.encode(), stamp.encode(), 1)


@dataclass(frozen=True)
class Built:
    records: dict[str, tuple[str, Element]]  # key -> (fileIdentifier, record), checked
    state: dict[str, Any]  # the new ledger and the datasets' fingerprints
    atom: dict[str, bytes]  # the Atom download service's documents by file name
    dcat: dict[str, bytes]  # the DCAT-AP.de catalogue (Turtle, RDF/XML) by file name


def build_records(settings: Settings, previous: dict[str, Any], today: str) -> Built:
    """Every record, checked; the new ledger; the Atom feeds of the same entries."""
    ctx = Context.from_settings(settings)
    ledger = {k: dict(v) for k, v in previous.get("ledger", {}).items()}
    prev_records = previous.get("records", {})
    entries = _entries(settings, ctx, ledger, prev_records, today)
    records: dict[str, tuple[str, Element]] = {}
    for entry in entries:
        records[entry.key] = (entry.file_identifier,
                              dataset_record(entry, ctx, _links(entry, ctx)))
    specs: list[ServiceSpec] = service_specs(ctx)
    locators = {spec.key: spec.locator for spec in specs}
    for spec in specs:
        file_id, created = _identify(spec.key, None, ledger, ctx, today)
        coupled = [e for e in entries if spec.serves(e)]
        records[spec.key] = (file_id, service_record(spec, file_id, created, ctx, coupled))
    schema = schema_for(settings.schemas_dir, iso.SCHEMA_IMPORTS)
    found = rules.unique_identifiers([r for _, r in records.values()])
    for key, (_, root) in records.items():
        validate_tree(root, schema, name=key)
        found += [f"{key}: {p}" for p in rules.problems(root, ctx.namespace_base)]
    if found:
        raise PublicationError("metadata records break INSPIRE/GDI-DE rules: "
                               + "; ".join(found[:20]))
    state_extra = {e.key: {"fingerprint": e.facts.fingerprint, "revised": e.revised}
                   for e in entries}
    atom = feeds.documents(entries, ctx, {k: v[0] for k, v in records.items()},
                           locators.get("service:wfs"))
    atom_rules.check(atom, settings.schemas_dir)
    return Built(records, {"ledger": ledger, "extra": state_extra}, atom,
                 _dcat(settings, ctx, entries, ledger))


def _dcat(settings: Settings, ctx: Context, entries: list[DatasetEntry],
          ledger: dict[str, Any]) -> dict[str, bytes]:
    """The DCAT-AP.de catalogue of the open datasets, checked against GovData's shapes."""
    from gdi.metadata import dcat, govdata
    from gdi.publish import extracts

    sets = []
    for e in entries:
        if not e.desc.metadata.opendata:
            continue
        live = release.current(extracts.root(settings), e.desc.id)
        sets.append(dcat.DcatDataset(
            e, str(ledger[e.key]["created"]), f"{ctx.base_url}/static/daten/{e.collection}.html",
            dcat.extract_resources(live, e.collection),
            f"{ctx.base_url}/extracts/{e.desc.id}/latest/"))
    graph = dcat.catalogue(sets, ctx, settings.city.catalogue.govdata_contributor)
    violations, _ = govdata.check(graph, settings.shared_dir, ctx.municipality_key)
    if violations:
        raise PublicationError("the DCAT-AP.de catalogue breaks GovData's rules: "
                               + "; ".join(violations[:10]))
    return {"catalog.ttl": graph.serialize(format="turtle", encoding="utf-8"),
            "catalog.rdf": dcat.rdf_xml(graph)}


def pycsw_python(settings: Settings) -> Path:
    python = settings.pycsw_python or settings.project_dir / ".venv-pycsw" / "bin" / "python"
    if not Path(python).exists():
        raise PublicationError(f"pycsw's environment {python} is missing",
                               hint="run scripts/setup.sh (it installs pycsw 2.6.2 there)")
    return Path(python)


def load_repository(settings: Settings, records_dir: Path, database: Path) -> list[str]:
    """Fill pycsw's SQLite repository in pycsw's own environment (gdi.publish.csw.loader)."""
    env = {**os.environ, "PYTHONPATH": str(settings.project_dir), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([str(pycsw_python(settings)), "-m", "gdi.publish.csw.loader",
                           str(database), str(records_dir)], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"error": (proc.stderr or proc.stdout).strip()[-500:]}
    if proc.returncode != 0 or "error" in result:
        raise PublicationError(f"pycsw could not load the records: {result.get('error')}")
    return list(result["identifiers"])


def publish(settings: Settings) -> CatalogueReport:
    """Build the whole catalogue and make it live; the live one stays on any failure."""
    report = CatalogueReport()
    now = _now()
    with release.locked(settings.data_dir, NAME):
        current = live(settings)
        previous = read_state(current)
        built = build_records(settings, previous, now[:10])
        records, new_state = built.records, built.state
        run_id = now.replace(":", "").replace("-", "")
        state: dict[str, Any] = {"ledger": new_state["ledger"], "records": {}}
        prev_records = previous.get("records", {})
        with release.staging(settings.data_dir, NAME, run_id) as stage:
            (stage / "records").mkdir()
            (stage / "html").mkdir()
            for key, (file_id, root) in sorted(records.items()):
                digest = hashlib.sha256(iso.serialise(root)).hexdigest()
                before = prev_records.get(key, {})
                stamp = before["datestamp"] if before.get("hash") == digest else now
                if stamp == now:
                    report.changed.append(key)
                data = _serialise(root, stamp)
                (stage / "records" / f"{file_id}.xml").write_bytes(data)
                state["records"][key] = {"file_identifier": file_id, "hash": digest,
                                         "datestamp": stamp,
                                         **new_state["extra"].get(key, {})}
                report.records[key] = file_id
            ids = load_repository(settings, stage / "records", stage / "records.db")
            if sorted(ids) != sorted(report.records.values()):
                raise PublicationError("the catalogue's repository does not hold every record")
            html.write_pages(stage / "html", stage / "records", settings)
            feeds.write(stage / "atom", built.atom)
            (stage / "dcat").mkdir()
            for name, data in built.dcat.items():
                (stage / "dcat" / name).write_bytes(data)
            (stage / "state.json").write_text(json.dumps(state, indent=1, sort_keys=True),
                                              encoding="utf-8")
            report.removed = sorted(set(prev_records) - set(records))
            final = release.promote(settings.data_dir, NAME, stage, run_id, 3)
        report.release = final.name
    return report
