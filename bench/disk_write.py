#!/usr/bin/env python3
"""What the data dir's disk gives a durable writer: the ceiling for large S3 PUTs (issue 17).

Trent's file object store writes each blob to a temporary file, fsyncs it and renames it into
place (``objectstore/blob_file.py``), so a large PUT can be no faster than the disk persists new
data. This writes ``--count`` files of ``--mib`` MiB (1 MiB writes, then one fsync) and prints
MB/s per file, twice:

    unlinked   each file is removed right after its fsync, so the next one may reuse its pages
    kept       the files stay until the end, as blobs do while the blob reaper's grace runs

On this VM (Firecracker, free page reporting and DAMON reclaim) "kept" falls to ~280-335 MB/s
once the first GB is in. That is not the disk: perf puts 87 % of the time in the copy into the
page cache (copy_folio_from_iter_atomic), because every page the growing cache takes is memory
the host took back, faulted in on first touch. O_DIRECT writes of the same files run at
~1,300 MB/s, and so do buffered writes that drop the pages behind them (bench/S3_SSE.md,
2026-12-07), which is what the blob store does since.

    bench/disk_write.py --dir /path/on/the/data/disk --count 16 --mib 256
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

CHUNK = 1 << 20


def write_durably(path: Path, size: int, chunk: bytes) -> float:
    """Write ``size`` bytes in ``chunk``-sized writes, fsync, and return MB/s."""
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size // len(chunk)):
            os.write(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    return size / (time.perf_counter() - started) / 1e6


def run(directory: Path, count: int, size: int, keep: bool) -> list[float]:
    chunk = os.urandom(CHUNK)  # incompressible, like ciphertext
    rates: list[float] = []
    with tempfile.TemporaryDirectory(dir=directory, prefix="trent-disk-") as tmp:
        for i in range(count):
            path = Path(tmp) / f"blob-{i}"
            rates.append(write_durably(path, size, chunk))
            if not keep:
                path.unlink()
    return rates


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path.cwd(), help="a directory on the disk to measure")
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--mib", type=int, default=256)
    args = ap.parse_args(argv)
    print(f"# {args.count} x {args.mib} MiB, fsync each, in {args.dir} (load {os.getloadavg()[0]:.2f})")
    for label, keep in (("unlinked", False), ("kept", True)):
        rates = run(args.dir, args.count, args.mib << 20, keep)
        print(f"{label:<9} MB/s per file: {' '.join(f'{r:,.0f}' for r in rates)}")
        print(f"{label:<9} first {rates[0]:,.0f}, median {statistics.median(rates):,.0f}, "
              f"median of the last half {statistics.median(rates[len(rates) // 2:]):,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
