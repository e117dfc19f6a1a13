"""The run report: what a run read, published and rejected, and with which tools.

Written as JSON beside each release (and as ``latest.json`` per dataset, failed runs
included) and summarised for people by the CLI. It feeds the metadata lineage.
"""

from __future__ import annotations

import csv
import json
import platform
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def tool_versions() -> dict[str, str]:
    import lxml.etree
    import pygeoapi
    import pyogrio
    import pyproj

    import gdi

    return {
        "gdi-hildesheim": gdi.__version__,
        "python": platform.python_version(),
        "gdal": pyogrio.__gdal_version_string__,
        "proj": pyproj.proj_version_str,
        "pyproj": pyproj.__version__,
        "pyogrio": pyogrio.__version__,
        "lxml": ".".join(map(str, lxml.etree.LXML_VERSION)),
        "libxml2": ".".join(map(str, lxml.etree.LIBXML_VERSION)),
        "pygeoapi": pygeoapi.__version__,
    }


@dataclass
class RunReport:
    dataset: str
    run_id: str
    started: str
    status: str = "running"  # running | published | failed
    finished: str | None = None
    error: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    read: int = 0
    published: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    amendments: list[dict[str, Any]] = field(default_factory=list)
    species: dict[str, Any] = field(default_factory=dict)
    inspire: dict[str, Any] = field(default_factory=dict)
    lifespan: dict[str, int] = field(default_factory=dict)
    public: dict[str, int] = field(default_factory=dict)
    transformation: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=tool_versions)

    @property
    def balanced(self) -> bool:
        return self.read == self.published + self.rejected

    def reasons(self) -> Counter[str]:
        return Counter(r["reason"].split(" (")[0] for r in self.rejections)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "report.json"
        path.write_text(self.to_json(), encoding="utf-8")
        with (folder / "rejects.csv").open("w", encoding="utf-8", newline="") as fh:
            cols = ["file", "record", "field", "value", "reason"]
            w = csv.DictWriter(fh, cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(self.rejections)
        return path

    def summary(self) -> str:
        lines = [
            f"{self.dataset}: {self.status} (run {self.run_id})",
            f"  read {self.read:,} = published {self.published:,} + rejected {self.rejected:,}"
            + ("" if self.balanced else "  <-- DOES NOT BALANCE"),
        ]
        for reason, n in self.reasons().most_common(8):
            lines.append(f"    rejected {n:6,}  {reason}")
        amended = Counter(a["reason"] for a in self.amendments)
        for reason, n in amended.most_common(5):
            lines.append(f"    amended  {n:6,}  {reason}")
        if self.species:
            s = self.species
            lines.append(f"  species: {s.get('resolved', 0):,} with reference id, "
                         f"{s.get('unresolved', 0):,} unresolved, "
                         f"{s.get('no_species', 0):,} without species")
        if self.inspire:
            i = self.inspire
            lines.append(f"  INSPIRE {i.get('feature_type')}: {i.get('members', 0):,} members, "
                         f"{i.get('excluded', 0):,} left out, schema-valid: {i.get('valid')}")
        if self.public.get("withheld"):
            lines.append(f"  public: {self.public['records']:,} records, "
                         f"{self.public['withheld']:,} internal only"
                         + (f", {self.public.get('aggregate_rows', 0):,} grid counts "
                            f"({self.public.get('aggregate_suppressed', 0):,} suppressed)"
                            if "aggregate_rows" in self.public else ""))
        if self.lifespan:
            lines.append(f"  versions: {self.lifespan.get('unchanged', 0):,} unchanged, "
                         f"{self.lifespan.get('new_or_changed', 0):,} new or changed")
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)
