"""Reading CPU time and memory from /proc text."""

from __future__ import annotations

import os

import pytest

from bench.procstat import cpu_seconds_from_stat, memory_mib_from_status, sample

# A real /proc/<pid>/stat line whose command name holds a space and a ')'.
STAT = "4242 (python -m x) S 1 4242 4242 0 -1 4194560 9000 0 12 0 350 150 0 0 20 0 9 0 1234 600000000 20000"
STATUS = "Name:\tpython\nVmPeak:\t  700000 kB\nVmHWM:\t  102400 kB\nVmRSS:\t   51200 kB\n"


def test_cpu_seconds_adds_user_and_system_ticks() -> None:
    """utime (350) + stime (150) at 100 ticks a second is 5 CPU seconds, whatever the command name."""
    assert cpu_seconds_from_stat(STAT, 100) == 5.0


def test_memory_fields_convert_kib_to_mib() -> None:
    """VmHWM is the peak and VmRSS the current resident set, both in MiB."""
    assert memory_mib_from_status(STATUS, "VmHWM") == 100.0
    assert memory_mib_from_status(STATUS, "VmRSS") == 50.0


def test_missing_memory_field_is_an_error() -> None:
    """An exited (zombie) process has no VmRSS: that must not read as zero memory."""
    with pytest.raises(KeyError):
        memory_mib_from_status("Name:\tpython\nState:\tZ (zombie)\n", "VmRSS")


def test_sample_reads_this_process() -> None:
    """The running test process has used some CPU and holds some memory, its peak at least its current."""
    now = sample(os.getpid())
    assert now.cpu_seconds > 0
    assert 0 < now.rss_mib <= now.peak_rss_mib
