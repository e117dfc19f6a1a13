"""Dataset descriptors: the single source of truth for one dataset.

A descriptor (``datasets/<id>.yml``) says where the source is and how it is encoded, how each
source field is typed and checked, which fields are internal, how the clean record maps to the
INSPIRE feature type, and how the dataset is published. Config files, metadata and mapfiles are
derived from it. Loading validates it completely; problems name the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gdi.errors import DescriptorError
from gdi.settings import Settings
from gdi.yamlconf import read_yaml, validate

VoidReason = Literal["Unknown", "Unpopulated", "Withheld"]
FieldType = Literal["text", "integer", "number", "date", "boolean"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class I18n(Model):
    de: str
    en: str


class CsvSpec(Model):
    delimiter: Literal["auto", ";", ",", "\t"] = "auto"
    decimal: Literal[".", ","] = "."
    x: str | None = Field(None, description="column of the easting (any position or name)")
    y: str | None = Field(None, description="column of the northing; none: a table")


class SourceSpec(Model):
    path: Path
    format: Literal["shapefile", "csv", "geojson", "gpkg"]
    layer: str | None = None
    encoding: str = "auto"
    crs: str
    csv: CsvSpec | None = None

    @model_validator(mode="after")
    def _csv_needs_columns(self) -> SourceSpec:
        if self.format == "csv" and self.csv is None:
            raise ValueError("a csv source needs a 'csv' block naming the x and y columns")
        return self


class FieldSpec(Model):
    source: str
    type: FieldType = "text"
    required: bool = False
    min: float | None = None
    max: float | None = None
    on_invalid: Literal["reject", "null"] = "reject"
    internal: bool = False
    nulls: tuple[str, ...] = ("", "-", "--", "n/a", "k.A.", "unbekannt")
    unit: str | None = None
    title: I18n | None = None
    # a small pure function (transforms.<module>:<name>) normalising each parsed value;
    # returning None for a value means "not valid" (handled by on_invalid)
    compute: str | None = None
    # several values in one cell (line breaks, ';', ','): stored as "a, b"
    multi: bool = False
    # the value must be the local id of a published record of another dataset
    references: str | None = None


class ExcludeRule(Model):
    """Records that are read but deliberately not published (e.g. retired playgrounds)."""

    field: str
    values: tuple[str, ...]
    reason: str


class AreaSpec(Model):
    crs: str = "EPSG:25832"
    bbox: tuple[float, float, float, float]
    swapped: Literal["swap", "reject"] = "swap"


class DuplicatesSpec(Model):
    key: tuple[str, ...]
    resolution: Literal["position_suffix", "reject"] = "position_suffix"


class SpeciesSpec(Model):
    field: str
    table: Path


class PropertyMap(Model):
    """How one INSPIRE property (dotted path) is filled: exactly one operation."""

    field: str | None = None
    value: Any = None
    codelist: str | None = None  # an INSPIRE list, or "city:<Name>" for a city extension list
    map: dict[str, str] | None = None
    # a source value 'map' does not list: fail the run (default: nothing is lost silently),
    # write the property nil (void_if_missing), or leave the record out of the INSPIRE GML;
    # every unmapped value is reported with its count either way
    unmapped: Literal["fail", "nil", "leave_out"] = "fail"
    compute: str | None = None
    args: tuple[str, ...] = ()
    void: VoidReason | None = None
    void_if_missing: VoidReason = "Unknown"
    # For a mandatory, not nillable reference (gml:ReferenceType): write it with a nilReason
    # attribute when the value is missing instead of leaving the record out of the dataset.
    nil_reason_if_missing: VoidReason | None = None
    omit: str | None = None
    identifier: bool = False
    geometry: bool = False
    lifespan: Literal["begin"] | None = None
    dataset_ref: bool = False  # a reference to the data set feature of the collection

    @model_validator(mode="after")
    def _one_operation(self) -> PropertyMap:
        ops = [
            self.field is not None,
            self.value is not None,
            self.compute is not None,
            self.void is not None,
            self.omit is not None,
            self.identifier,
            self.geometry,
            self.lifespan is not None,
            self.dataset_ref,
        ]
        if sum(ops) != 1:
            raise ValueError(
                "give exactly one of field, value, compute, void, omit, identifier, "
                "geometry, lifespan, dataset_ref"
            )
        if self.map is not None and self.field is None:
            raise ValueError("'map' classifies a 'field'; name the field")
        return self

    @property
    def operation(self) -> str:
        for name in ("field", "value", "compute", "void", "omit", "lifespan"):
            if getattr(self, name) is not None:
                return name
        if self.dataset_ref:
            return "dataset_ref"
        return "identifier" if self.identifier else "geometry"


class DatasetFeatureSpec(Model):
    """The data set feature written once before the members (e.g. ExistingLandUseDataSet);
    its geometry is the convex hull of all members, its version the newest member's."""

    feature_type: str
    local_id: str
    mapping: dict[str, PropertyMap]


class InspireSpec(Model):
    application_schema: str = Field(pattern=r"^[a-z0-9-]+/\d+\.\d+$")
    feature_type: str
    namespace: str
    mapping: dict[str, PropertyMap]
    dataset: DatasetFeatureSpec | None = None


class RowRule(Model):
    field: str
    values: tuple[Any, ...]


class AggregateSpec(Model):
    """Counts per INSPIRE grid cell (ETRS89-LAEA) and class of the records the public may not
    see one by one (those outside ``public_rows``; the public ones are published as records
    and never counted again, so no difference of two outputs isolates a withheld count).
    Counts below ``suppress_below`` are not published, and no totals are (docs/privacy.md)."""

    collection: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: I18n
    description: I18n
    by: str
    grid_m: Literal[1000, 10000] = 1000
    suppress_below: int = Field(3, ge=1)


class LabelSpec(Model):
    field: str
    # labels are drawn at scales larger than 1:max_scale
    max_scale: float = Field(5000, gt=0)


class ViewSpec(Model):
    """The dataset in the view service (WMS): its layer name and cartography."""

    layer: str | None = None  # the INSPIRE layer name; default: the collection's name
    # the records are drawn at scales larger than 1:detail_max_scale ...
    detail_max_scale: float | None = Field(default=None, gt=0)
    # ... and beyond it, as counts per INSPIRE grid cell of this size (a dense point layer)
    overview_grid_m: Literal[100, 1000] | None = None
    # a point is drawn as a circle of this field's value in metres (e.g. a crown diameter)
    size_m_field: str | None = None
    label: LabelSpec | None = None  # in pixels: not with size_m_field (sizes in metres)

    @model_validator(mode="after")
    def _overview_needs_limit(self) -> ViewSpec:
        if self.overview_grid_m is not None and self.detail_max_scale is None:
            raise ValueError("overview_grid_m is drawn beyond detail_max_scale; give both")
        if self.label is not None and self.size_m_field is not None:
            # MapServer's SIZEUNITS applies to a layer's labels too: they would grow with zoom
            raise ValueError("a layer drawn in metres (size_m_field) cannot carry labels")
        return self


class GuardSpec(Model):
    """When a run is too implausible to replace the live release (gdi/guard.py)."""

    max_drop: float = Field(default=0.10, ge=0, le=1)  # share the published count may fall
    max_rejected_share: float = Field(default=0.25, ge=0, le=1)  # share of records read


class PublicationSpec(Model):
    collection: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: I18n
    description: I18n
    keywords: tuple[str, ...] = ()
    title_field: str | None = None
    view: ViewSpec = ViewSpec()
    # CRS84 extent for a table without geometry (a collection needs one)
    extent: tuple[float, float, float, float] | None = None
    # records the public sees (any rule matching); the others are published internally only
    public_rows: tuple[RowRule, ...] | None = None
    aggregate: AggregateSpec | None = None
    guard: GuardSpec = GuardSpec()


Art13 = Literal["INSPIRE_Directive_Article13_1a", "INSPIRE_Directive_Article13_1b",
                "INSPIRE_Directive_Article13_1c", "INSPIRE_Directive_Article13_1d",
                "INSPIRE_Directive_Article13_1e", "INSPIRE_Directive_Article13_1f",
                "INSPIRE_Directive_Article13_1g", "INSPIRE_Directive_Article13_1h"]


class MetadataSpec(Model):
    """The dataset's ISO 19115 / INSPIRE metadata record (gdi/metadata): what neither the rest
    of the descriptor nor the live release says. Titles, abstract, keywords, extent, dates,
    lineage and conformity come from there."""

    # falls under INSPIRE (keyword 'inspireidentifiziert', theme, conformity statement):
    # decided here, by the city, never guessed from an INSPIRE mapping
    inspire_relevant: bool
    topic_categories: tuple[str, ...] = Field(min_length=1)  # ISO MD_TopicCategoryCode
    update_frequency: str  # ISO MD_MaintenanceFrequencyCode (annually, asNeeded, ...)
    # the INSPIRE theme (registry id: sd, am, lu...); default: that of inspire.application_schema
    theme: str | None = None
    spatial_scope: Literal["local", "regional", "national", "european", "global"] = "local"
    opendata: bool = True  # the GovData keyword 'opendata' and the licence as JSON
    # EU data themes of the DCAT-AP.de catalogue (publications.europa.eu data-theme codes)
    data_themes: tuple[Literal["AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "INTR",
                               "JUST", "REGI", "SOCI", "TECH", "TRAN"], ...] = ()
    # a date field whose earliest and latest value are the temporal extent
    temporal_field: str | None = None
    # why records are withheld from the public (INSPIRE Art. 13): required with public_rows
    withheld_because: Art13 | None = None
    # a record the city already has in GDI-NI keeps its UUID; default: derived, then kept
    file_identifier: str | None = Field(
        None, pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

    @model_validator(mode="after")
    def _codes(self) -> MetadataSpec:
        from gdi.metadata.vocab import FREQUENCIES, THEMES, TOPIC_CATEGORIES

        bad = [t for t in self.topic_categories if t not in TOPIC_CATEGORIES]
        if bad:
            raise ValueError(f"topic_categories: {bad} not in ISO MD_TopicCategoryCode "
                             f"({', '.join(sorted(TOPIC_CATEGORIES))})")
        if self.update_frequency not in FREQUENCIES:
            raise ValueError(f"update_frequency '{self.update_frequency}' is not an ISO "
                             f"MD_MaintenanceFrequencyCode ({', '.join(sorted(FREQUENCIES))})")
        if self.theme is not None and self.theme not in THEMES:
            raise ValueError(f"theme '{self.theme}' is not known ({', '.join(THEMES)})")
        return self


class Descriptor(Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: I18n
    source: SourceSpec
    fields: dict[str, FieldSpec]
    area: AreaSpec | None = None  # none: a table without geometry
    duplicates: DuplicatesSpec
    species: SpeciesSpec | None = None
    exclude: tuple[ExcludeRule, ...] = ()
    # a table without coordinates placed at the record it references (e.g. equipment at a
    # point inside its playground): the name of a field with 'references'
    position_from: str | None = None
    inspire: InspireSpec | None = None  # none: published, but not an INSPIRE dataset
    publication: PublicationSpec
    metadata: MetadataSpec
    path: Path = Path()

    @model_validator(mode="after")
    def _references(self) -> Descriptor:
        known = set(self.fields) | _derived_fields(self)
        for k in self.duplicates.key:
            if k not in self.fields:
                raise ValueError(f"duplicates.key names unknown field '{k}'")
        if self.species and self.species.field not in self.fields:
            raise ValueError(f"species.field names unknown field '{self.species.field}'")
        if self.position_from is not None and (
                self.position_from not in self.fields
                or not self.fields[self.position_from].references):
            raise ValueError("position_from must name a field with 'references'")
        for rule in self.exclude:
            if rule.field not in self.fields:
                raise ValueError(f"exclude names unknown field '{rule.field}'")
        pub = self.publication
        view = pub.view
        for field in [r.field for r in pub.public_rows or ()] + (
                [pub.aggregate.by] if pub.aggregate else []) + (
                [view.label.field] if view.label else []) + (
                [view.size_m_field] if view.size_m_field else []):
            if field not in known or self.fields.get(field, FieldSpec(source="")).internal:
                raise ValueError(f"publication names '{field}', which is no public field")
        maps = [] if self.inspire is None else [self.inspire.mapping]
        if self.inspire is not None and self.inspire.dataset is not None:
            maps.append(self.inspire.dataset.mapping)
        for mapping in maps:
            for prop, pm in mapping.items():
                for name in (pm.field, *pm.args):
                    if name is not None and name not in known:
                        raise ValueError(f"inspire.mapping.{prop} names unknown field '{name}'")
        md = self.metadata
        if md.temporal_field is not None and (
                md.temporal_field not in self.fields or self.fields[md.temporal_field].internal
                or self.fields[md.temporal_field].type != "date"):
            raise ValueError(f"metadata.temporal_field '{md.temporal_field}' is no public "
                             "date field")
        if (pub.public_rows is not None) != (md.withheld_because is not None):
            raise ValueError("metadata.withheld_because (the INSPIRE Art. 13 reason) goes "
                             "with publication.public_rows, and only with it")
        if md.inspire_relevant and self.inspire_theme is None:
            raise ValueError("an INSPIRE-relevant dataset needs metadata.theme")
        tf = self.publication.title_field
        if tf and (tf not in known or self.fields.get(tf, FieldSpec(source="")).internal):
            raise ValueError(f"publication.title_field '{tf}' is not a public field")
        return self

    @property
    def storage_crs(self) -> str:
        """CRS of the published store and the INSPIRE GML (that of the area check)."""
        return self.area.crs if self.area else "EPSG:25832"

    @property
    def inspire_theme(self) -> str | None:
        """The INSPIRE theme id: metadata.theme, else that of the application schema."""
        from gdi.metadata.vocab import SCHEMA_THEME

        if self.metadata.theme is not None:
            return self.metadata.theme
        if self.inspire is None:
            return None
        return SCHEMA_THEME.get(self.inspire.application_schema.split("/")[0])

    def internal_fields(self) -> list[str]:
        return [n for n, f in self.fields.items() if f.internal]

    @property
    def confidential(self) -> bool:
        """Internal fields or non-public records: the run writes an ``internal/`` part."""
        return bool(self.internal_fields()) or self.publication.public_rows is not None


def _derived_fields(d: Descriptor) -> set[str]:
    from gdi.species import SPECIES_FIELDS

    base = {"local_id", "begin_lifespan"}
    return base | (set(SPECIES_FIELDS) if d.species else set())


def load_descriptor(path: Path, settings: Settings) -> Descriptor:
    data = read_yaml(path, settings.substitutions())
    data["path"] = str(path)
    base = path.parent
    desc = validate(Descriptor, data, where=str(path))
    # relative paths in a descriptor are relative to the descriptor's folder
    source = desc.source
    if not source.path.is_absolute():
        source = source.model_copy(update={"path": base / source.path})
    species = desc.species
    if species and not species.table.is_absolute():
        species = species.model_copy(update={"table": base / species.table})
    return desc.model_copy(update={"source": source, "species": species})


def find_descriptor(name: str, settings: Settings) -> Path:
    """A dataset id (``trees``) or a path to a descriptor file."""
    candidate = Path(name)
    if candidate.suffix in {".yml", ".yaml"}:
        return candidate
    path = settings.datasets_dir / f"{name}.yml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in settings.datasets_dir.glob("*.yml"))) or "none"
        raise DescriptorError(
            f"no dataset '{name}' in {settings.datasets_dir}", hint=f"known datasets: {known}"
        )
    return path


def all_descriptors(settings: Settings) -> list[Path]:
    return sorted(settings.datasets_dir.glob("*.yml"))


def in_run_order(descs: list[Descriptor]) -> list[Descriptor]:
    """Datasets another one references come before it."""
    by_id = {d.id: d for d in descs}
    done: list[Descriptor] = []

    def visit(d: Descriptor, path: tuple[str, ...]) -> None:
        if d in done:
            return
        if d.id in path:
            raise DescriptorError(f"datasets reference each other in a cycle: {' -> '.join(path)}")
        for spec in d.fields.values():
            if spec.references in by_id:
                visit(by_id[spec.references], (*path, d.id))
        done.append(d)

    for d in descs:
        visit(d, ())
    return done
