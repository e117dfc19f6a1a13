"""The publication guard: an implausible run never replaces the live publication.

A run is compared with what it would replace (the live release's report) and with itself:

- nothing would be published (every record rejected, or all geometries missing);
- every record was rejected for the same reason (one cause, usually the export or the
  descriptor, not the data);
- more than ``max_rejected_share`` of the records read were rejected;
- the published count drops by more than ``max_drop`` against the live release.

Each finding says what to check. ``gdi run --accept-drop`` promotes such a run deliberately
(the findings stay in its report); without it the run ends with status ``refused`` and the live
release, its version bookkeeping included, stays as it was.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from gdi.report import RunReport

OUTSIDE = "position outside the area of the dataset"


def live_counts(live: Path | None) -> dict[str, Any] | None:
    """``read``/``published`` of the live release (from its public report), if any."""
    if live is None or not (live / "report.json").exists():
        return None
    doc = json.loads((live / "report.json").read_text(encoding="utf-8"))
    return {"read": int(doc.get("read", 0)), "published": int(doc.get("published", 0)),
            "run_id": doc.get("run_id")}


def findings(report: RunReport, live: dict[str, Any] | None, *, max_drop: float,
             max_rejected_share: float, crs_hint: str = "") -> list[str]:
    """What makes this run implausible (empty: nothing)."""
    out: list[str] = []
    reasons = Counter(r["reason"].split(" (")[0] for r in report.rejections)
    per_record = report.rejected
    if report.read and per_record == report.read and len(reasons) == 1:
        (reason, _), = reasons.items()
        text = f"all {report.read:,} records were rejected for the same reason: {reason}"
        if reason == OUTSIDE and crs_hint:
            text += f": {crs_hint}"
        out.append(text)
    elif report.published == 0:
        top = ", ".join(f"{r} ({n:,})" for r, n in reasons.most_common(3))
        out.append(f"nothing would be published: all {report.read:,} records were rejected"
                   + (f" ({top})" if top else ""))
    elif report.read and per_record / report.read > max_rejected_share:
        top = ", ".join(f"{r} ({n:,})" for r, n in reasons.most_common(3))
        out.append(f"{per_record:,} of {report.read:,} records rejected "
                   f"({per_record / report.read:.0%}, more than {max_rejected_share:.0%}): {top}"
                   + (f"; {crs_hint}" if reasons.get(OUTSIDE, 0) * 2 > per_record and crs_hint
                      else ""))
    if live is not None and live["published"] > 0:
        drop = 1 - report.published / live["published"]
        if drop > max_drop:
            out.append(f"the published count drops from {live['published']:,} (live release "
                       f"{live['run_id']}) to {report.published:,} (-{drop:.0%}, more than "
                       f"{max_drop:.0%}); is the export complete?")
    return out
