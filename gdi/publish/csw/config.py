"""pycsw's configuration (an INI file; written with configparser, every value escaped),
derived from the city profile and the live catalogue. Runs in the service's environment."""

from __future__ import annotations

import configparser
from pathlib import Path

from gdi.metadata import catalogue
from gdi.metadata.context import Context
from gdi.settings import Settings


def _esc(value: str) -> str:
    """pycsw reads its file with interpolation: '%' is special."""
    return value.replace("%", "%%")


def write(settings: Settings, folder: Path, log: Path) -> Path:
    """``pycsw.cfg`` in ``folder``: CSW 2.0.2 + ISO application profile on the live catalogue's
    SQLite repository (read per request through ``current``), INSPIRE discovery extended
    capabilities (ger, eng), transactions off."""
    ctx = Context.from_settings(settings)
    city = settings.city
    ids = catalogue.record_ids(settings)
    service_id = ids.get("service:csw", "")
    database = settings.data_dir / catalogue.NAME / "current" / "records.db"
    cfg = configparser.ConfigParser(interpolation=None)
    cfg["server"] = {
        "home": str(folder), "url": ctx.csw, "mimetype": "application/xml; charset=UTF-8",
        "encoding": "UTF-8",
        # pycsw knows en/fr/el for full-text stemming only; 'de' logs an error per request.
        # The languages a client sees are INSPIRE's (metadata:inspire below)
        "language": "en-US", "maxrecords": "100", "loglevel": "WARNING", "logfile": str(log),
        "pretty_print": "true", "gzip_compresslevel": "6", "domainquerytype": "list",
        "domaincounts": "false", "profiles": "apiso", "spatial_ranking": "false",
    }
    cfg["manager"] = {"transactions": "false", "allowed_ips": "127.0.0.1"}
    c = city.contact
    cfg["metadata:main"] = {
        "identification_title": f"Geodatendienste – {city.name.de} – Suchdienst (CSW)",
        "identification_abstract": f"Metadatenkatalog der Datensätze und Dienste der "
                                   f"{city.name.de} (CSW 2.0.2, ISO-Anwendungsprofil).",
        "identification_keywords": f"Metadaten,Katalog,INSPIRE,{city.place},"
                                   "infoCatalogueService",
        "identification_keywords_type": "theme",
        "identification_fees": "keine",
        "identification_accessconstraints": "keine",
        "provider_name": city.licence_holder, "provider_url": city.website,
        "contact_name": c.organisation, "contact_position": c.position,
        "contact_address": c.address, "contact_city": c.city,
        "contact_stateorprovince": city.state, "contact_postalcode": c.postcode,
        "contact_country": c.country, "contact_phone": city.catalogue.phone or "",
        "contact_fax": "", "contact_email": settings.email, "contact_url": city.website,
        "contact_hours": "", "contact_instructions": "", "contact_role": "pointOfContact",
    }
    cfg["repository"] = {"database": f"sqlite:///{database}", "table": "records"}
    cfg["metadata:inspire"] = {
        "enabled": "true", "languages_supported": "ger,eng", "default_language": "ger",
        "date": "", "gemet_keywords": "Suchdienst", "conformity_service": "notEvaluated",
        "contact_name": c.organisation, "contact_email": settings.email, "temp_extent": "",
    }
    # read by gdi.publish.csw.backend: the scenario-1 MetadataUrl (the CSW's own record)
    cfg["gdi"] = {"service_metadata_url": ctx.record_url(service_id) if service_id else ""}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pycsw.cfg"
    with path.open("w", encoding="utf-8") as fh:
        for section in cfg.sections():
            for key, value in cfg[section].items():
                cfg[section][key] = _esc(value)
        cfg.write(fh)
    return path
