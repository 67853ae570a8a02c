"""The C allocator of a long-running process: freed memory kept for the next request.

A 100-hash match with 1 M indicators allocates about ten numpy arrays of 0.1-2 MB (probe keys,
bucket entries, candidate positions, their first 128 bits...) and frees them when it answers.
glibc's malloc gives each one pages of its own (``mmap``) or hands the top of its heap back to
the system (``trim``) on free, so the next request touches fresh pages: about 1,100 page faults
per 100-hash query, measured 7.1-8.6 ms of CPU per query against 4.7-5.1 ms without them
(issue 19). Raising both thresholds keeps such memory in the process for the next request; a
block larger than ``mmap_threshold`` still gets pages of its own and gives them back when
freed, and a heap keeps at most about ``trim_threshold`` free at its top.

glibc only (``mallopt``); elsewhere nothing is changed and :func:`keep_freed_memory` says so.
"""

from __future__ import annotations

import ctypes
import platform

# glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

# The largest threshold glibc's own adjustment reaches (on 64 bits): what the defaults would
# serve from the heap once warmed up is never given pages of its own. With 8 MiB, a scan
# worker's 0.8 MP decode faulted 74 pages per file, against none by default.
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 64 * 2**20


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Set the process's malloc thresholds; True if they were set (glibc), False otherwise."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on error (a value out of its range).
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
