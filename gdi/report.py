"""The run report: what a run read, published and rejected, and with which tools.

Written as JSON beside each release (and as ``latest.json`` per dataset, failed runs
included) and summarised for people by the CLI. It feeds the metadata lineage.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import platform
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gdi.private import write_private

REDACTED = "<internal>"
# report figures about withheld records that only the internal report carries
_INTERNAL_ONLY = ("aggregate_suppressed",)


def tool_versions() -> dict[str, str]:
    import lxml.etree
    import pygeoapi
    import pyogrio
    import pyproj

    import gdi

    return {
        "gdi": gdi.__version__,
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
    status: str = "running"  # running | published | refused | failed
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
    city3d: dict[str, Any] = field(default_factory=dict)  # heights, model, changes, planning
    transformation: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=tool_versions)
    # what the public view hides: values of these fields, or every value (a dataset with
    # records the public may not see: a rejected record may be one of them)
    redact: dict[str, Any] = field(default_factory=lambda: {"fields": [], "all_values": False})
    guard: dict[str, Any] = field(default_factory=dict)
    # why this release is only a local preview, not harvestable (gdi/preview.py); empty: public
    local_preview: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.read == self.published + self.rejected

    def reasons(self) -> Counter[str]:
        return Counter(r["reason"].split(" (")[0] for r in self.rejections)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @property
    def confidential(self) -> bool:
        return bool(self.redact["fields"]) or bool(self.redact["all_values"])

    def public_view(self) -> RunReport:
        """The report as it may be written outside ``internal/``: values of confidential
        fields (or, for a dataset with non-public records, every value, positions included)
        replaced by ``<internal>``; record numbers and reasons stay."""
        hidden = set(self.redact["fields"])
        every = bool(self.redact["all_values"])

        def scrub(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**r, "value": REDACTED} if r.get("value") is not None and (
                every or r["field"] in hidden) else r for r in rows]

        public = {k: v for k, v in self.public.items() if k not in _INTERNAL_ONLY}
        return dataclasses.replace(self, rejections=scrub(self.rejections),
                                   amendments=scrub(self.amendments), public=public)

    def rejects_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, ["file", "record", "field", "value", "reason"],
                           extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(self.rejections)
        return buf.getvalue()

    def write(self, folder: Path) -> Path:
        """``report.json`` and ``rejects.csv`` (public view) into a release folder, and the
        full report into its ``internal/`` folder for a confidential dataset."""
        folder.mkdir(parents=True, exist_ok=True)
        shown = self.public_view()
        path = folder / "report.json"
        path.write_text(shown.to_json(), encoding="utf-8")
        (folder / "rejects.csv").write_text(shown.rejects_csv(), encoding="utf-8")
        if self.confidential:
            write_private(folder / "internal" / "report.json", self.to_json())
            write_private(folder / "internal" / "rejects.csv", self.rejects_csv())
        return path

    def write_latest(self, reports_dir: Path) -> None:
        """``reports/<id>/latest.json`` (public view) and, for a confidential dataset,
        ``reports/<id>/internal/latest.json`` (full)."""
        reports_dir.mkdir(parents=True, exist_ok=True)
        (reports_dir / "latest.json").write_text(self.public_view().to_json(), encoding="utf-8")
        if self.confidential:
            write_private(reports_dir / "internal" / "latest.json", self.to_json())

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
                         f"{i.get('excluded', 0):,} left out, "
                         + (f"GML {i['gml']}" if "gml" in i else
                            f"schema-valid: {i.get('valid')}"))
        if self.public.get("withheld"):
            lines.append(f"  public: {self.public['records']:,} records, "
                         f"{self.public['withheld']:,} internal only"
                         + (f", {self.public.get('aggregate_rows', 0):,} grid counts of them"
                            if "aggregate_rows" in self.public else "")
                         + (f" ({self.public['aggregate_suppressed']:,} suppressed)"
                            if "aggregate_suppressed" in self.public else ""))
        if self.guard.get("findings"):
            lines.append("  guard: " + ("accepted (--accept-drop): " if self.guard["accepted"]
                                        else "") + "; ".join(self.guard["findings"]))
        if self.lifespan:
            lines.append(f"  versions: {self.lifespan.get('unchanged', 0):,} unchanged, "
                         f"{self.lifespan.get('new_or_changed', 0):,} new or changed")
        if self.local_preview:
            lines.append("  LOCAL PREVIEW, not for harvesting: " + "; ".join(self.local_preview))
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)
