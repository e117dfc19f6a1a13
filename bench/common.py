"""What the benchmarks share: timing a process with its peak memory, recording results."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command: (wall seconds, peak RSS MiB of it and its children, its stdout).
    Output goes to temporary files, so a chatty process never blocks on a full pipe."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=out,
                                stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{err.read()[-3000:]}")
        return wall, usage.ru_maxrss / 1024, out.read()


def record(lines: list[str], write: bool) -> None:
    """Print the result lines; with ``write`` append them to bench/RESULTS.md."""
    print("\n".join(lines))
    if write:
        RESULTS.write_text(RESULTS.read_text(encoding="utf-8").rstrip() + "\n\n"
                           + "\n".join(lines) + "\n", encoding="utf-8")
