"""What every record shares: who publishes, where the services answer, how records link.

Built once per catalogue build from the settings and the city profile; every URL a record
carries is made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from gdi.metadata.iso import Party
from gdi.settings import Settings

GMD = "http://www.isotc211.org/2005/gmd"


@dataclass(frozen=True)
class Context:
    base_url: str
    namespace_base: str
    municipality_key: str
    city_de: str
    city_en: str
    place: str
    contact: Party
    licence_id: str
    licence_name: str
    licence_title: str
    licence_url: str
    licence_holder: str
    bbox: tuple[float, float, float, float]  # the city's area, EPSG:25832
    imprint_url: str = ""
    privacy_url: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        city = settings.city
        c = city.contact
        lic = city.catalogue.licence
        return cls(
            base_url=settings.base_url, namespace_base=settings.namespace_base,
            municipality_key=city.municipality_key, city_de=city.name.de,
            city_en=city.name.en, place=city.place,
            contact=Party(c.organisation, settings.email, c.position, c.address, c.postcode,
                          c.city, c.country, city.catalogue.phone, city.website),
            licence_id=lic.id, licence_name=lic.name, licence_title=lic.title_de,
            licence_url=lic.url, licence_holder=city.licence_holder, bbox=city.bbox,
            imprint_url=city.portal.imprint_url or city.website,
            privacy_url=city.portal.privacy_url or city.website)

    @property
    def csw(self) -> str:
        return f"{self.base_url}/csw"

    def record_url(self, file_identifier: str) -> str:
        """The record's CSW GetRecordById (ISO 19139, full): what harvesters and links use."""
        return f"{self.csw}?" + urlencode({
            "SERVICE": "CSW", "VERSION": "2.0.2", "REQUEST": "GetRecordById",
            "ID": file_identifier, "OUTPUTSCHEMA": GMD, "ELEMENTSETNAME": "full"})

    def record_page(self, file_identifier: str) -> str:
        """The record's human-readable page (German first)."""
        return f"{self.base_url}/metadata/{file_identifier}.html"

    @property
    def attribution(self) -> str:
        """The attribution Datenlizenz Deutschland asks for, as users should give it."""
        return f"{self.licence_holder}, {self.licence_title} ({self.licence_url})"
