"""A small process supervisor: start children, restart the ones that die, stop them all.

What it guarantees (docs/operations.md):

- **restart with backoff**: a child that exits while the supervisor runs is started again at
  once, then after 0.5, 1, 2, 4 … 30 s if it keeps exiting (the count resets once a child has
  lived 60 s); each exit and restart is
  logged with its cause; the other children keep serving meanwhile;
- **children never outlive the supervisor**, even when it is SIGKILLed or OOM-killed: every
  child runs in one process group led by a tiny *reaper* process; the reaper and every direct
  child get a parent-death signal (``PR_SET_PDEATHSIG``), and the reaper answers it by killing
  the whole group, grandchildren such as nginx's workers included;
- **no orphans while running**: the supervisor is a child subreaper; a grandchild orphaned by a
  crashed child (an nginx worker still holding the port) is killed before the child restarts;
- **a quick stop**: each child is stopped by the signal it stops fastest on, then the group is
  killed after a short grace period.

Listening sockets can be created here and handed to children (``fds``/``stdin``), so a
restarted child takes over the same socket and requests wait in its backlog instead of failing.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
BACKOFF = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
HEALTHY_AFTER = 60.0

_REAPER = """
import os, signal, sys, time
def _all(*_):
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGUSR1, _all)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if os.getppid() != int(sys.argv[1]):  # the supervisor died before the signal was armed
    _all()
while True:
    signal.pause()
"""


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every process, from /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return out


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl failed")


def _die_with_parent(sig: int) -> Callable[[], None]:
    def arm() -> None:
        _prctl(_PR_SET_PDEATHSIG, sig)
    return arm


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    stop_signal: int = signal.SIGTERM
    fds: tuple[int, ...] = ()  # inherited file descriptors (e.g. a listening socket)
    stdin: int | None = None  # a listening socket as fd 0 (FastCGI)
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0
    history: list[str] = field(default_factory=list)


class Supervisor:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.children: dict[str, Child] = {}
        self.stopping = False
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        self.reaper = subprocess.Popen(
            [sys.executable, "-c", _REAPER, str(os.getpid())], process_group=0,
            preexec_fn=_die_with_parent(signal.SIGUSR1), stdin=subprocess.DEVNULL)
        self.group = self.reaper.pid

    def note(self, text: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(f"{stamp} {text}\n")
        print(f"gdi serve: {text}", file=sys.stderr, flush=True)

    def start(self, child: Child) -> None:
        self.children[child.name] = child
        self._spawn(child)

    def _spawn(self, child: Child) -> None:
        with child.log.open("ab") as out:
            child.proc = subprocess.Popen(
                child.cmd, env=child.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=child.stdin if child.stdin is not None else subprocess.DEVNULL,
                pass_fds=child.fds, process_group=self.group,
                preexec_fn=_die_with_parent(signal.SIGKILL))
        child.started = time.monotonic()
        child.restart_at = None

    def pids(self) -> dict[str, int]:
        return {n: c.proc.pid for n, c in self.children.items()
                if c.proc is not None and c.proc.poll() is None}

    def exited(self) -> list[tuple[str, int]]:
        """Children that have exited and are not yet scheduled for a restart."""
        return [(n, c.proc.returncode) for n, c in self.children.items()
                if c.proc is not None and c.restart_at is None and c.proc.poll() is not None]

    def tend(self) -> None:
        """Schedule and perform restarts; call it often (it does not block)."""
        if self.stopping:
            return
        now = time.monotonic()
        if self.reaper.poll() is not None:  # the group outlives its leader: a new reaper joins
            self.reaper = subprocess.Popen(
                [sys.executable, "-c", _REAPER, str(os.getpid())], process_group=self.group,
                preexec_fn=_die_with_parent(signal.SIGUSR1), stdin=subprocess.DEVNULL)
            self.note("reaper exited; a new one watches the process group")
        for name, code in self.exited():
            child = self.children[name]
            if now - child.started > HEALTHY_AFTER:
                child.failures = 0
            delay = BACKOFF[min(child.failures, len(BACKOFF) - 1)]
            child.failures += 1
            child.restart_at = now + delay
            how = f"signal {-code}" if code < 0 else f"code {code}"
            self.note(f"{name} (pid {child.proc.pid if child.proc else '?'}) exited with "
                      f"{how}; restart in {delay:.1f} s")
        if any(c.restart_at is not None for c in self.children.values()):
            self.kill_orphans()  # before a master restarts, its old workers must be gone
        for child in self.children.values():
            if child.restart_at is not None and now >= child.restart_at:
                self._spawn(child)
                child.restarts += 1
                self.note(f"{child.name} restarted (pid {child.proc.pid if child.proc else '?'},"
                          f" restart {child.restarts})")

    def members(self) -> set[int]:
        """Pids of every live process in the supervised process group."""
        return {pid for pid, (_, pgid) in _processes().items() if pgid == self.group}

    def kill_orphans(self) -> None:
        """Kill and reap processes of our process group re-parented to us (a dead child's
        children); other children of this process (a test runner's) are not ours."""
        mine = {c.proc.pid for c in self.children.values() if c.proc is not None}
        mine.add(self.reaper.pid)
        me = os.getpid()
        for pid, (ppid, pgid) in _processes().items():
            if pid not in mine and ppid == me and pgid == self.group:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    def stop(self, grace: float = 1.5) -> None:
        """Stop every child (its own stop signal first), then the whole group."""
        self.stopping = True
        for child in self.children.values():
            if child.proc is not None and child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(child.stop_signal)
        deadline = time.monotonic() + grace
        for child in self.children.values():
            if child.proc is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=max(0.01, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.group, signal.SIGKILL)
        for child in self.children.values():
            if child.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.proc.wait(timeout=2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.reaper.wait(timeout=2)
        self.kill_orphans()
