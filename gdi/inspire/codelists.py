"""Code lists: INSPIRE registry lists (offline copy) and the city's own extension lists.

A mapping names an INSPIRE list (``OccurrenceCategoryValue``) or a city extension list
(``city:PlaygroundTypeValue``). City lists live in ``datasets/codelists/<Name>.yml`` (values
with German and English labels and definitions) and are published by ``gdi serve`` under
``<base>/codelists/<Name>``, which is also the base of their value URIs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gdi.errors import DescriptorError

INSPIRE_BASE = "http://inspire.ec.europa.eu/codelist/"
CITY = "city:"


@dataclass(frozen=True)
class CodeLists:
    inspire_dir: Path
    city_dir: Path
    city_base: str  # e.g. http://127.0.0.1:8000/codelists

    def uri(self, codelist: str, value: str) -> str:
        if value.startswith(("http://", "https://")):
            return value
        if codelist.startswith(CITY):
            return f"{self.city_base}/{codelist[len(CITY):]}/{value}"
        return f"{INSPIRE_BASE}{codelist}/{value}"

    def values(self, codelist: str) -> frozenset[str] | None:
        """Member URIs of a list; None where the list is not available offline."""
        if codelist.startswith(CITY):
            name = codelist[len(CITY):]
            return frozenset(self.uri(codelist, v) for v in city_list(self.city_dir, name))
        return _inspire_list(self.inspire_dir, codelist)


def from_settings(settings: Any) -> CodeLists:
    return CodeLists(settings.shared_dir / "inspire-codelists",
                     settings.datasets_dir / "codelists", settings.codelist_base)


@functools.lru_cache(maxsize=64)
def _inspire_list(folder: Path, name: str) -> frozenset[str] | None:
    files = sorted((folder / name).glob("*.xml")) if (folder / name).is_dir() else []
    if not files:
        return None
    return frozenset(re.findall(r'<value id="([^"]+)"', files[0].read_text(encoding="utf-8")))


def city_list(folder: Path, name: str) -> dict[str, dict[str, Any]]:
    """The values of a city extension list: id -> {label: {de, en}, definition: {de, en}}."""
    path = folder / f"{name}.yml"
    if not path.is_file():
        raise DescriptorError(f"city code list {path} not found")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = doc.get("values")
    if not isinstance(values, dict) or not values:
        raise DescriptorError(f"{path}: a code list needs a 'values' mapping")
    return values


def city_lists(folder: Path) -> dict[str, dict[str, Any]]:
    """Every city list with its title and values (for publication)."""
    out = {}
    for path in sorted(folder.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out[path.stem] = {"title": doc.get("title", {}), "description": doc.get("description", {}),
                          "extends": doc.get("extends"), "values": city_list(folder, path.stem)}
    return out
