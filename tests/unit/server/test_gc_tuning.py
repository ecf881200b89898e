"""server/gc_tuning.py (issue 17 throughput): a serving process freezes the heap it built
and still collects the cycles it makes afterwards. Each case runs in a fresh interpreter:
freezing is process-wide and cannot be undone for the test run's own heap."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(script: str) -> str:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_built_heap_is_frozen_and_the_young_threshold_raised() -> None:
    out = _run("""
        import gc
        import trent.bootstrap  # what a server has imported before it serves
        from trent.server.gc_tuning import YOUNG_THRESHOLD, tune_collector
        before = len(gc.get_objects())
        tune_collector()
        print(gc.get_freeze_count() >= before // 2, len(gc.get_objects()) < 1000,
              gc.get_threshold()[0] == YOUNG_THRESHOLD)
    """)
    assert out == "True True True"


def test_cycles_made_after_tuning_are_still_collected_without_asking() -> None:
    # The collector is tuned, not disabled: a cycle left behind by a request is reclaimed
    # once enough container objects have been allocated, with no gc.collect() call.
    out = _run("""
        import gc, weakref
        from trent.server.gc_tuning import tune_collector
        tune_collector(young_threshold=1_000)
        class Node: pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        print(gone() is not None)
        keep = [[] for _ in range(5_000)]
        print(gone() is None, gc.isenabled())
    """)
    assert out.split() == ["True", "True", "True"]
