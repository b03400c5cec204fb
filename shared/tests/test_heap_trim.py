"""The heap trim's pieces that need no worker: the C library's call and the resident size it is judged by."""

from __future__ import annotations

import platform

import pytest

from shared.heap_trim import malloc_trim, resident_bytes


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_glibc_hands_back_what_python_freed() -> None:
    """100 MiB allocated and freed in blocks below mmap's threshold stay in the heap until trimmed."""
    trim = malloc_trim()
    assert trim is not None
    blocks = [bytearray(64 * 1024) for _ in range(1600)]  # 100 MiB of 64 KiB blocks: malloc'd, not mmap'd
    del blocks[:-1]  # the last one pins the heap's top, so glibc cannot give the rest back by itself
    before = resident_bytes()
    trim(0)
    assert before - resident_bytes() > 50 * 2**20


def test_resident_bytes_is_this_process_resident_set() -> None:
    with open("/proc/self/status") as status:
        vm_rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    assert resident_bytes() == pytest.approx(vm_rss_kib * 1024, rel=0.1)
