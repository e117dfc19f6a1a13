"""Fixed vocabularies of INSPIRE metadata (TG Metadata 2.0) and the GDI-DE conventions.

Facts, not configuration: the theme labels are GEMET's (INSPIRE themes, version 1.0), the
regulation titles those of the Official Journal in German, as the INSPIRE validator and
GDI-DE's test suite compare them.
"""

from __future__ import annotations

from typing import NamedTuple

ISO_CODELISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
LANGUAGE_CODELIST = "http://www.loc.gov/standards/iso639-2/"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
INSPIRE_REGISTRY = "http://inspire.ec.europa.eu"
# the INSPIRE feature concept dictionary: one page per spatial object type
FEATURE_CONCEPT = "https://inspire.ec.europa.eu/featureconcept/{}"


class Theme(NamedTuple):
    id: str  # the INSPIRE registry id (http://inspire.ec.europa.eu/theme/<id>)
    de: str  # GEMET label in German (the record's language)
    en: str
    annex: str

    @property
    def uri(self) -> str:
        return f"{INSPIRE_REGISTRY}/theme/{self.id}"


THEMES = {t.id: t for t in (
    Theme("am", "Bewirtschaftungsgebiete/Schutzgebiete/geregelte Gebiete und "
                "Berichterstattungseinheiten",
          "Area management/restriction/regulation zones and reporting units", "III"),
    Theme("bu", "Gebäude", "Buildings", "III"),
    Theme("lu", "Bodennutzung", "Land use", "III"),
    Theme("sd", "Verteilung der Arten", "Species distribution", "III"),
    Theme("so", "Boden", "Soil", "III"),
    Theme("us", "Versorgungswirtschaft und staatliche Dienste",
          "Utility and governmental services", "III"),
)}
# the application schema (descriptor inspire.application_schema) -> its theme
SCHEMA_THEME = {"sd": "sd", "am": "am", "elu": "lu", "selu": "lu", "lunom": "lu", "so": "so",
                "bu-core2d": "bu", "bu-core3d": "bu", "bu-base": "bu", "us-govserv": "us"}

GEMET_THESAURUS = ("GEMET - INSPIRE themes, version 1.0", "2008-06-01",
                   "http://www.eionet.europa.eu/gemet/inspire_themes")
SPATIAL_SCOPE_THESAURUS = ("Räumlicher Anwendungsbereich", "2019-05-22",
                           f"{INSPIRE_REGISTRY}/metadata-codelist/SpatialScope")
SPATIAL_SCOPE = {"national": "National", "regional": "Regional", "local": "Lokal",
                 "european": "Europäisch", "global": "Global"}
SERVICE_CATEGORY_THESAURUS = ("Klassifikation von Geodatendiensten", "2008-12-03",
                              f"{INSPIRE_REGISTRY}/metadata-codelist/SpatialDataServiceCategory")


class Regulation(NamedTuple):
    title: str
    date: str
    uri: str


# Commission Regulation (EU) No 1089/2010 (interoperability of data sets and services)
INTEROPERABILITY = Regulation(
    "VERORDNUNG (EG) Nr. 1089/2010 DER KOMMISSION vom 23. November 2010 zur Durchführung "
    "der Richtlinie 2007/2/EG des Europäischen Parlaments und des Rates hinsichtlich der "
    "Interoperabilität von Geodatensätzen und -diensten", "2010-12-08",
    "http://data.europa.eu/eli/reg/2010/1089")
# Commission Regulation (EC) No 976/2009 (network services)
NETWORK_SERVICES = Regulation(
    "VERORDNUNG (EG) Nr. 976/2009 DER KOMMISSION vom 19. Oktober 2009 zur Durchführung der "
    "Richtlinie 2007/2/EG des Europäischen Parlaments und des Rates hinsichtlich der "
    "Netzdienste", "2009-10-20", "http://data.europa.eu/eli/reg/2009/976")

# INSPIRE TG: limitations on public access (Art. 13 of the directive)
ACCESS = f"{INSPIRE_REGISTRY}/metadata-codelist/LimitationsOnPublicAccess"
ACCESS_LABELS = {
    "noLimitations": "Es gelten keine Zugriffsbeschränkungen",
    "INSPIRE_Directive_Article13_1a": "Vertraulichkeit der Verfahren von Behörden",
    "INSPIRE_Directive_Article13_1b": "Internationale Beziehungen, öffentliche Sicherheit "
                                      "oder Landesverteidigung",
    "INSPIRE_Directive_Article13_1c": "Laufende Gerichtsverfahren",
    "INSPIRE_Directive_Article13_1d": "Vertraulichkeit von Geschäfts- oder "
                                      "Betriebsinformationen",
    "INSPIRE_Directive_Article13_1e": "Rechte an geistigem Eigentum",
    "INSPIRE_Directive_Article13_1f": "Vertraulichkeit personenbezogener Daten",
    "INSPIRE_Directive_Article13_1g": "Schutz von Interessen einer Person, die Daten "
                                      "freiwillig zur Verfügung gestellt hat",
    "INSPIRE_Directive_Article13_1h": "Schutz der Umweltbereiche",
}
CONDITIONS = f"{INSPIRE_REGISTRY}/metadata-codelist/ConditionsApplyingToAccessAndUse"

# INSPIRE spatial data service types (the record's srv:serviceType)
SERVICE_TYPES = ("discovery", "view", "download", "transformation", "invoke", "other")
# ISO 19115 MD_TopicCategoryCode
TOPIC_CATEGORIES = frozenset((
    "farming", "biota", "boundaries", "climatologyMeteorologyAtmosphere", "economy",
    "elevation", "environment", "geoscientificInformation", "health",
    "imageryBaseMapsEarthCover", "intelligenceMilitary", "inlandWaters", "location",
    "oceans", "planningCadastre", "society", "structure", "transportation",
    "utilitiesCommunication"))
# ISO 19115 MD_MaintenanceFrequencyCode
FREQUENCIES = frozenset((
    "continual", "daily", "weekly", "fortnightly", "monthly", "quarterly", "biannually",
    "annually", "asNeeded", "irregular", "notPlanned", "unknown"))
MEDIA_TYPES = f"{INSPIRE_REGISTRY}/media-types"
