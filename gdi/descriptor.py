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
    # citygml: the ground surfaces of AdV CityGML buildings (a file or a folder of tiles)
    format: Literal["shapefile", "csv", "geojson", "gpkg", "citygml"]
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
    # computed by the run, not read (e.g. the building heights of gdi.city3d.heights)
    derived: bool = False


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
    suppress_below: int = Field(default=3, ge=1)


class LabelSpec(Model):
    field: str
    # labels are drawn at scales larger than 1:max_scale
    max_scale: float = Field(default=5000, gt=0)


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
    # polygons coloured by this number field in classes between the breaks (e.g. heights)
    ramp_field: str | None = None
    ramp_breaks: tuple[float, ...] = ()
    ramp_unit: str = ""

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


class RasterSetSpec(Model):
    """A set of GeoTIFF tiles (DGM1 or DOM1) read as one mosaic (gdi.city3d.rasters)."""

    path: Path  # the folder of tiles
    pattern: str = "*.tif"
    crs: str = "EPSG:25832"
    vertical_crs: str = "EPSG:7837"  # DHHN2016 heights
    resolution_m: float = Field(default=1.0, gt=0)


class HeightsSpec(Model):
    """How each building's heights are measured (docs/city3d.md)."""

    # rasters: DGM ground and DOM roof statistics; attributes: ground and height from fields
    source: Literal["rasters", "attributes"] = "rasters"
    dgm: RasterSetSpec | None = None
    dom: RasterSetSpec | None = None
    ground_field: str | None = None   # source "attributes": absolute ground height
    height_field: str | None = None   # source "attributes": height above ground
    block_percentile: int = Field(default=70, ge=50, le=99)  # the LoD1.2 roof: DOM percentile
    ground_percentile: int = Field(default=5, ge=0, le=50)   # the ground: DGM percentile
    erode_m: float = Field(default=0.5, ge=0, le=3)  # the roof: measured this far inside
    max_nodata_share: float = Field(default=0.5, ge=0, lt=1)  # above: rejected; below: flagged
    min_height_m: float = Field(default=1.0, ge=0)  # lower: rejected (no building in the DOM)

    @model_validator(mode="after")
    def _inputs(self) -> HeightsSpec:
        if self.source == "rasters" and (self.dgm is None or self.dom is None):
            raise ValueError("heights from rasters need both 'dgm' and 'dom'")
        if self.source == "attributes" and (self.ground_field is None
                                            or self.height_field is None):
            raise ValueError("heights from attributes need 'ground_field' and 'height_field'")
        return self


class ChangeSpec(Model):
    """When a building counts as changed against the live release (gdi.city3d.changes)."""

    footprint_tolerance_m: float = Field(default=0.1, ge=0)  # Hausdorff distance of the footprints
    roof_threshold_m: float = Field(default=1.0, gt=0)       # change of the LoD1.2 roof height


class PlanningSpec(Model):
    """Planned construction projects (GeoJSON files) for the planning variant."""

    folder: Path
    crs: str = "EPSG:25832"
    storey_height_m: float = Field(default=3.0, gt=0)  # height of a project given in storeys


class Lod2Spec(Model):
    """The state's LoD2 CityGML tiles merged in (gdi.city3d.lod2): used where current."""

    path: Path  # the folder of tiles
    pattern: str = "*.gml"
    footprint_tolerance_m: float = Field(default=0.5, ge=0)  # Hausdorff ALKIS <-> LoD2
    roof_tolerance_m: float = Field(default=1.5, gt=0)  # LoD2 roof mean vs DOM roof median


class City3dSpec(Model):
    heights: HeightsSpec
    lod2: Lod2Spec | None = None
    function_field: str | None = None    # the ALKIS Gebäudefunktion (31001_xxxx)
    roof_type_field: str | None = None   # the AdV roof form code
    storeys_field: str | None = None     # storeys above ground
    footprint_date_field: str | None = None  # Grundrissaktualität (against the LoD2's)
    # ALKIS function code -> INSPIRE CurrentUseValue: a CSV (code;name;current_use)
    current_use_table: Path | None = None
    change: ChangeSpec = ChangeSpec()
    planning: PlanningSpec | None = None


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
    # building bodies (LoD1.2) from footprints and DGM/DOM heights (gdi.city3d)
    city3d: City3dSpec | None = None
    publication: PublicationSpec
    metadata: MetadataSpec
    path: Path = Path()

    @model_validator(mode="before")
    @classmethod
    def _derived_specs(cls, data: Any) -> Any:
        """The fields a 3D run computes (heights, quality), typed and titled by the module
        that computes them: one place for their meaning."""
        if isinstance(data, dict) and data.get("city3d") is not None \
                and isinstance(data.get("fields"), dict):
            from gdi.city3d.heights import derived_fields

            clash = set(derived_fields()) & set(data["fields"])
            if clash:
                raise ValueError(f"fields {sorted(clash)} are computed by the 3D run; "
                                 "rename the source fields")
            data = {**data, "fields": {**data["fields"], **derived_fields()}}
        return data

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
                [view.size_m_field] if view.size_m_field else []) + (
                [view.ramp_field] if view.ramp_field else []):
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
        if self.city3d is not None:
            c3 = self.city3d
            for name in (c3.function_field, c3.roof_type_field, c3.storeys_field,
                         c3.footprint_date_field,
                         c3.heights.ground_field, c3.heights.height_field):
                if name is not None and name not in self.fields:
                    raise ValueError(f"city3d names unknown field '{name}'")
        tf = self.publication.title_field
        if tf and (tf not in known or self.fields.get(tf, FieldSpec(source="")).internal):
            raise ValueError(f"publication.title_field '{tf}' is not a public field")
        return self

    @property
    def storage_crs(self) -> str:
        """CRS of the published store and the INSPIRE GML (that of the area check)."""
        return self.area.crs if self.area else "EPSG:25832"

    @property
    def inspire_schema(self) -> str | None:
        """The INSPIRE application schema of the dataset's INSPIRE GML, if it has one (a
        buildings dataset: BU-3D, written by gdi.city3d)."""
        if self.inspire is not None:
            return self.inspire.application_schema
        return "bu-core3d/4.0" if self.city3d is not None else None

    @property
    def inspire_feature_types(self) -> tuple[str, ...]:
        """The INSPIRE spatial object types in that GML."""
        if self.inspire is not None:
            return (self.inspire.feature_type,) + (
                (self.inspire.dataset.feature_type,) if self.inspire.dataset else ())
        return ("Building",) if self.city3d is not None else ()

    @property
    def inspire_gml(self) -> str | None:
        """The file name of the INSPIRE GML in a release."""
        if self.inspire is not None:
            return f"{self.id}.inspire.gml"
        return f"{self.id}.bu3d.gml" if self.city3d is not None else None

    @property
    def inspire_theme(self) -> str | None:
        """The INSPIRE theme id: metadata.theme, else that of the application schema."""
        from gdi.metadata.vocab import SCHEMA_THEME

        if self.metadata.theme is not None:
            return self.metadata.theme
        schema = self.inspire_schema
        return None if schema is None else SCHEMA_THEME.get(schema.split("/")[0])

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
    city3d = desc.city3d
    if city3d is not None and city3d.current_use_table is not None \
            and not city3d.current_use_table.is_absolute():
        city3d = city3d.model_copy(
            update={"current_use_table": base / city3d.current_use_table})
    return desc.model_copy(update={"source": source, "species": species, "city3d": city3d})


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
