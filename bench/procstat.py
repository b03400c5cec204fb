"""CPU time and memory of a running process, from Linux's /proc.

The parsers are pure (text in, numbers out); `sample` is the one function that reads /proc.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcSample:
    """One look at a process: CPU seconds used so far (user + system), resident and peak memory."""

    cpu_seconds: float
    rss_mib: float
    peak_rss_mib: float


def cpu_seconds_from_stat(stat: str, ticks_per_second: int) -> float:
    """utime + stime from a /proc/<pid>/stat line, in seconds.

    The command name sits in parentheses and may itself hold spaces or ')', so the fields are
    counted from the last ')'; utime and stime are the stat file's 14th and 15th fields.
    """
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


def memory_mib_from_status(status: str, field: str) -> float:
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM) in MiB; KeyError when it is absent."""
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) / 1024
    raise KeyError(f"{field} not in /proc status")


def sample(pid: int, proc: Path = Path("/proc")) -> ProcSample:
    """Read the process's CPU time and memory now; OSError once it has exited."""
    stat = (proc / str(pid) / "stat").read_text()
    status = (proc / str(pid) / "status").read_text()
    return ProcSample(
        cpu_seconds_from_stat(stat, os.sysconf("SC_CLK_TCK")),
        memory_mib_from_status(status, "VmRSS"),
        memory_mib_from_status(status, "VmHWM"),
    )
