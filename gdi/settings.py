"""Typed settings, read once at the edge (CLI, server start) from ``GDI_*`` environment variables.

Everything inside the package receives a :class:`Settings` instance; nothing else reads the
environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gdi.city import City
from gdi.city import load as load_city

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_shared() -> Path:
    return PROJECT_ROOT.parent / "shared"


class Settings(BaseSettings):
    """Runtime settings. Environment variables carry the ``GDI_`` prefix (``GDI_DATA_DIR``...)."""

    model_config = SettingsConfigDict(env_prefix="GDI_", frozen=True, extra="ignore")

    project_dir: Path = PROJECT_ROOT
    data_dir: Path = Field(default=PROJECT_ROOT / "var")
    datasets_dir: Path = Field(default=PROJECT_ROOT / "datasets")
    shared_dir: Path = Field(default_factory=_default_shared)
    # Folders searched, in order, for NTv2 grids such as BETA2007.gsb (JSON list in the env).
    grid_dirs: tuple[Path, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    # the city this service publishes for (gdi/city.py): names, contact, namespace, area
    city_profile: Path = Field(default=PROJECT_ROOT / "config" / "cities" / "hildesheim.yml")
    # Namespace for INSPIRE identifiers (GDI-NI assigns the city's); default: the profile's
    id_namespace_base: str = ""
    keep_releases: int = 3
    # versions of the open-data extracts that stay downloadable (the live one included)
    extracts_keep: int = Field(default=5, ge=1, le=100)
    # resident MapServer FastCGI processes per WMS (public, internal): a crash or a slow
    # request of one never blocks the service
    wms_processes: int = Field(default=2, ge=1, le=32)
    # the longest a backend may take for one request before the front answers 504
    backend_timeout_s: int = Field(default=30, ge=1, le=600)
    contact_email: str = ""  # default: the profile's (a placeholder until set)
    codelist_uri_base: str = ""  # default: <base URL>/codelists
    # the internal API (/internal/ogcapi/, full data) answers only with these credentials;
    # without them it is switched off (404)
    # the view service's ISO metadata record for the INSPIRE extended capabilities; default:
    # its record in the project's own catalogue (CSW GetRecordById)
    view_service_metadata_url: str = ""
    # the Python of pycsw's own environment (default: <project>/.venv-pycsw/bin/python)
    pycsw_python: Path | None = None
    internal_user: str = ""
    internal_password: SecretStr = SecretStr("")

    @field_validator("project_dir", "data_dir", "datasets_dir", "shared_dir", "city_profile")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def city(self) -> City:
        return load_city(self.city_profile)

    @property
    def namespace_base(self) -> str:
        return (self.id_namespace_base or self.city.id_namespace_base).rstrip("/")

    @property
    def email(self) -> str:
        return self.contact_email or self.city.contact.email

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def codelist_base(self) -> str:
        """Base URI of the city's extension code lists (published by gdi serve)."""
        return self.codelist_uri_base.rstrip("/") or f"{self.base_url}/codelists"

    @property
    def schemas_dir(self) -> Path:
        return self.shared_dir / "inspire-schemas"

    @property
    def publish_dir(self) -> Path:
        return self.data_dir / "publish"

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    def grid_search_path(self) -> list[Path]:
        """Where NTv2 grids are looked for: GDI_GRID_DIRS if set, else shared/proj and
        Debian's proj-data."""
        if self.grid_dirs:
            return list(self.grid_dirs)
        return [self.shared_dir / "proj", Path("/usr/share/proj")]

    def substitutions(self) -> dict[str, str]:
        """Values for ``${VAR}`` placeholders in descriptors and the pygeoapi config."""
        return {
            "GDI_PROJECT_DIR": str(self.project_dir),
            "GDI_DATA_DIR": str(self.data_dir),
            "GDI_SHARED_DIR": str(self.shared_dir),
            "GDI_DATASETS_DIR": str(self.datasets_dir),
            "GDI_SOURCES_DIR": str(self.sources_dir),
            "GDI_PUBLISH_DIR": str(self.publish_dir),
            "GDI_BASE_URL": self.base_url,
            "GDI_ID_NAMESPACE_BASE": self.namespace_base,
            "GDI_CONTACT_EMAIL": self.email,
            # the city profile, for config/pygeoapi.yml
            "GDI_CITY_NAME_DE": self.city.name.de,
            "GDI_CITY_NAME_EN": self.city.name.en,
            "GDI_CITY_PLACE": self.city.place,
            "GDI_CITY_STATE": self.city.state,
            "GDI_CITY_WEBSITE": self.city.website,
            "GDI_CITY_ORGANISATION": self.city.contact.organisation,
            "GDI_CITY_POSITION": self.city.contact.position,
            "GDI_CITY_ADDRESS": self.city.contact.address,
            "GDI_CITY_POSTCODE": self.city.contact.postcode,
            "GDI_CITY_CITY": self.city.contact.city,
            "GDI_CITY_COUNTRY": self.city.contact.country,
            "GDI_CITY_LICENCE_HOLDER": self.city.licence_holder,
            "GDI_LICENCE_TITLE": self.city.catalogue.licence.title_de,
            "GDI_LICENCE_URL": self.city.catalogue.licence.url,
        }
