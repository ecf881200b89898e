"""Bound glibc's malloc arenas in a serving process (issue 17: Trent RSS <= 128 MiB).

glibc gives a thread that finds the main arena locked an arena of its own, up to 8 per
core. The S3 executor runs up to 32 threads (http11.S3_THREADS), so 32 concurrent S3
connections spread small allocations over 16 arenas on a 2-core machine, and each keeps
its freed pages: measured (bench/S3_SSE.md, 2026-12-05 evening) peak RSS 137 MiB with the
default, 109 MiB with 2 arenas, same load. The interpreter holds the GIL around nearly all
allocation, so more arenas buy little concurrency.

Applied through ``mallopt(M_ARENA_MAX)`` before the server starts its threads, unless the
operator set ``MALLOC_ARENA_MAX`` (glibc reads that itself; theirs wins). A no-op where the
C library is not glibc (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

ARENAS = 2
_M_ARENA_MAX = -8  # glibc malloc.h


def bound_arenas(arenas: int = ARENAS) -> bool:
    """Set glibc's arena limit to ``arenas``; True if it was applied."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))
