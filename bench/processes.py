"""What Linux's /proc says about processes: CPU used, peak memory, who started whom.

The benchmarks run every part on the same cores, so where the CPU went is part of
each figure. Linux only; elsewhere the readings come back empty.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (its start-up included)."""
    return _stat(Path(f"/proc/{pid}/stat").read_text())[2]


def peak_kb(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def host_ticks() -> tuple[int, int]:
    """The host's CPU ticks since boot, (all, idle), summed over its cores."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    return sum(fields), fields[3] + fields[4]  # idle + iowait


def process_table() -> dict[int, tuple[int, str, float]]:
    """Every readable process: pid -> (parent pid, command name, CPU seconds so far)."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            table[int(entry.name)] = _stat((entry / "stat").read_text())
        except OSError:
            continue  # it exited meanwhile
    return table


def named(table: dict[int, tuple[int, str, float]], command: str) -> dict[int, float]:
    """CPU seconds so far of every process in `table` (see process_table) running `command`."""
    return {pid: cpu for pid, (_, comm, cpu) in table.items() if comm == command}


def _stat(stat: str) -> tuple[int, str, float]:
    # The command name is in parentheses and may hold spaces; the fields after it start
    # at field 3 (state): the parent pid is field 4, utime and stime fields 14 and 15.
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / _TICK


def cpu_used(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
) -> dict[str, float]:
    """CPU seconds each kind of process used between two snapshots of the same kinds
    (kind -> pid -> CPU seconds so far); a process new in `after` counts from zero."""
    return {
        kind: sum(cpu - before[kind].get(pid, 0.0) for pid, cpu in pids.items())
        for kind, pids in after.items()
        if pids
    }
