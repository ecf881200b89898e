"""server/malloc_tuning.py (issue 17): glibc's arena limit and fixed mmap/trim thresholds
are set for a serving process, and a setting the operator made in glibc's environment wins."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from trent.server import malloc_tuning

PROBE = "from trent.server.malloc_tuning import tune_malloc; print(','.join(tune_malloc()))"
GLIBC_VARIABLES = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
needs_glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


def _run(**extra: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in GLIBC_VARIABLES} | extra
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return [name for name in out.stdout.strip().split(",") if name]


@needs_glibc
def test_glibc_takes_every_setting_in_a_fresh_process() -> None:
    assert _run() == ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]


@needs_glibc
def test_the_operators_settings_win() -> None:
    assert _run(MALLOC_ARENA_MAX="4") == ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
    assert _run(MALLOC_TRIM_THRESHOLD_="131072") == ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"]
    assert _run(GLIBC_TUNABLES="glibc.malloc.mmap_threshold=65536") == ["MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_"]


@needs_glibc
def test_the_thresholds_take_effect() -> None:
    """A transfer's pattern: a few MiB-sized buffers allocated, touched and freed, again and
    again. By default glibc hands the freed heap top back to the kernel (trim threshold:
    twice the largest mmapped chunk freed so far) and faults it in again the next round;
    tuned, the rounds after the first fault nothing in (ru_minflt)."""
    script = """
import ctypes, resource
from trent.server.malloc_tuning import tune_malloc
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
def round():
    pieces = [libc.malloc(1 << 20) for _ in range(3)]
    for p in pieces:
        ctypes.memset(p, 1, 1 << 20)
    for p in pieces:
        libc.free(p)
def faults_for_reused_mibs():
    round(); round()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        round()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
import sys
if sys.argv[1] == "tuned":
    tune_malloc()
print(faults_for_reused_mibs())
"""
    env = {k: v for k, v in os.environ.items() if k not in GLIBC_VARIABLES}

    def faults(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", script, mode], env=env, capture_output=True, text=True, check=True)
        return int(out.stdout)

    assert faults("default") >= 20 * 256  # at least a MiB of pages each round
    assert faults("tuned") < 50


def test_off_glibc_nothing_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(malloc_tuning, "_mallopt", lambda: None)
    assert malloc_tuning.tune_malloc({}) == ()
