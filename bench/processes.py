"""CPU time and peak memory of process trees, read from /proc (Linux): what the storm costs, by role.

CPU: a process's own user+system time plus that of the children it has reaped (cutime/cstime), so a
tree's total includes the flow-run processes that have already exited. Memory: each process's peak
resident set (VmHWM) and, sampled together, the sum over all processes of RSS and of PSS (the
proportional share: forked flow runs share most of their pages with the fork server, which RSS
counts once per process).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in (PROC / str(pid) / "task").glob("*/children"):
        try:
            out.extend(int(c) for c in task.read_text().split())
        except OSError:
            continue
    return out


def tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children(current))
    return found


def parent(pid: int) -> int:
    try:
        return int((PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid: int, *, reaped: bool = True) -> float:
    """User + system seconds of ``pid`` (and of the children it has waited for)."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + ((cutime + cstime) if reaped else 0)) / TICK


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in tree(pid))


def _kib(pid: int, file: str, key: str) -> int:
    """A "Key: <n> kB" line of /proc/<pid>/<file>; 0 once the process is gone."""
    try:
        for line in (PROC / str(pid) / file).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class MemorySampler:
    """Samples the trees of ``roots`` (role -> pid) every ``interval`` seconds until stopped."""

    roots: dict[str, int]
    classify: Callable[[str, int, str], str] = lambda role, pid, cmd: role
    interval: float = 0.25
    peak_kib: dict[str, int] = field(default_factory=dict)  # role -> highest VmHWM of one process
    processes: dict[str, set[int]] = field(default_factory=dict)  # role -> pids seen
    seen: dict[int, tuple[float, float]] = field(default_factory=dict)  # pid -> (first, last) sample time
    peak_total_rss_kib: int = 0
    peak_total_pss_kib: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        rss = pss = 0
        now = time.monotonic()
        for role, root in self.roots.items():
            for pid in tree(root):
                self.seen[pid] = (self.seen.get(pid, (now, now))[0], now)
                kind = self.classify(role, pid, cmdline(pid))
                self.processes.setdefault(kind, set()).add(pid)
                self.peak_kib[kind] = max(self.peak_kib.get(kind, 0), _kib(pid, "status", "VmHWM"))
                rss += _kib(pid, "status", "VmRSS")
                pss += _kib(pid, "smaps_rollup", "Pss")
        self.peak_total_rss_kib = max(self.peak_total_rss_kib, rss)
        self.peak_total_pss_kib = max(self.peak_total_pss_kib, pss)

    def lifetimes(self, kind: str) -> list[float]:
        """Seconds each process of ``kind`` was seen alive (to within the sampling interval)."""
        return [self.seen[pid][1] - self.seen[pid][0] for pid in self.processes.get(kind, ()) if pid in self.seen]

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> MemorySampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
