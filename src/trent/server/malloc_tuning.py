"""glibc's malloc, set for a serving process (issue 17: Trent RSS <= 128 MiB, and large
S3 transfers).

* **At most 2 arenas.** glibc gives a thread that finds the main arena locked an arena of
  its own, up to 8 per core. The S3 executor runs up to 32 threads (http11.S3_THREADS),
  so 32 concurrent S3 connections spread small allocations over 16 arenas on a 2-core
  machine, and each keeps its freed pages: measured (bench/S3_SSE.md, 2026-12-05
  evening) peak RSS 137 MiB with the default, 109 MiB with 2 arenas, same load. The
  interpreter holds the GIL around nearly all allocation, so more arenas buy little
  concurrency.
* **Fixed mmap and trim thresholds** (4 MiB, 32 MiB). A large S3 transfer allocates and
  frees a MiB-sized buffer several times per MiB (a body piece, its ciphertext, the
  plaintext of a GET). With glibc's dynamic thresholds the heap top was handed back to
  the kernel after most frees and faulted in again for the next piece: ~50 page faults
  per MiB of a large PUT. With these, ~2, and a large SSE-KMS PUT used ~8 % less CPU
  (bench/S3_SSE.md, 2026-12-07); peak RSS did not move (106 -> 107 MiB). At most 32 MiB
  of freed heap top stays mapped per arena, the price of not faulting it in again.

Applied through ``mallopt`` before the server starts its threads. A setting the operator
made through glibc's environment (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``, or ``GLIBC_TUNABLES``) wins: glibc read it at start-up, and
that setting is left alone. A no-op where the C library is not glibc (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Mapping

ARENAS = 2
MMAP_THRESHOLD = 4 << 20
TRIM_THRESHOLD = 32 << 20
# glibc malloc.h parameter numbers, with the environment names and tunables that set them
_SETTINGS = (
    (-8, "MALLOC_ARENA_MAX", "glibc.malloc.arena_max", ARENAS),  # M_ARENA_MAX
    (-3, "MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold", MMAP_THRESHOLD),  # M_MMAP_THRESHOLD
    (-1, "MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold", TRIM_THRESHOLD),  # M_TRIM_THRESHOLD
)


def tune_malloc(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """Apply the settings the operator did not make; return the names of those applied."""
    mallopt = _mallopt()
    if mallopt is None:
        return ()
    tunables = environ.get("GLIBC_TUNABLES", "")
    applied = []
    for param, variable, tunable, value in _SETTINGS:
        if variable in environ or tunable in tunables:
            continue
        if mallopt(param, value):
            applied.append(variable)
    return tuple(applied)


def release_freed_memory() -> None:
    """Give the kernel back the free memory every arena keeps (glibc's ``malloc_trim(0)``),
    after a burst that allocated far more than serving does: the trail's delivery builds
    log files of up to ``max_events_per_file`` events, and with the trim threshold above
    each arena kept up to 32 MiB of it. Measured after delivering ~100,000 events: RSS
    99 -> 133 MiB without, 100 MiB with (bench/S3_SSE.md, 2026-12-07 16:49). A no-op off
    glibc."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim.argtypes = (ctypes.c_size_t,)
        trim(0)


def _mallopt():  # -> the C function, or None off glibc
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


def _libc_function(symbol: str):  # -> the C function, or None off glibc
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), symbol)
    except (OSError, AttributeError):
        return None
