"""Envelope throughput: Trent vs aws-encryption-sdk, file -> file, with the raw limits beside.

    python bench/envelope_throughput.py [--size-mib 512] [--reps 3] [--dir /tmp/trent-bench]
                                        [--baseline OTHER/src] [--rows 0578:4096:1,...]

A row's implementations are measured interleaved, rep by rep, so that this host's drift hits
them alike; ``x SDK`` is the median of the per-rep ratios to the SDK run beside it. A/B:
``--baseline DIR`` adds a ``trent-base`` row, the same measurement with ``PYTHONPATH=DIR``
(e.g. ``git archive HEAD src | tar -x -C /tmp/base`` and ``--baseline /tmp/base/src``).

Every measurement runs in a fresh child process (so its peak RSS is its own), pinned to one
CPU (``sched_setaffinity``) unless the row says "2 cores"; "other CPU busy" is the median load
of the CPUs the child was not pinned to while it ran (the machine is shared). ``trent`` is the
file path (``encrypt_file``/``decrypt_file``: O_DIRECT read-ahead/write-behind, temp + rename);
``--stream`` adds ``trent-stream``, the streaming API over buffered file objects. Both libraries use a raw AES
wrapping key, so the numbers are the message engine's, not a KMS round trip (one call per
message either way). Every run's input is read into the page cache first, for every
implementation alike (``--cold``: not; see ``WARM``). One-core runs also report their
MB/s as a percentage of the raw limit measured on the same CPU just before and after each run
(``OF_LIMIT``: this host's speed drifts within seconds). Reported: median MB/s (10^6 bytes/s of plaintext) over ``--reps`` runs
and the peak RSS of the child. Results and how they were taken: bench/ENVELOPE.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

KEY = bytes(range(32))
CHUNK = 1 << 20


# --------------------------------------------------------------------------- children


def _trent(op: str, suite: int, frame: int, src: str, dst: str, threads: int) -> None:
    from trent import envelope as ev

    kr = ev.RawAesKeyring("bench", "key", KEY)
    if op == "encrypt":
        ev.encrypt_file(src, dst, keyring=kr, suite=ev.suite_by_id(suite), frame_length=frame, threads=threads)
    else:
        ev.decrypt_file(src, dst, keyring=kr, threads=threads)


def _trent_stream(op: str, suite: int, frame: int, src: str, dst: str, threads: int) -> None:
    """The streaming API over ordinary buffered file objects (page cache both ways)."""
    from trent import envelope as ev

    kr = ev.RawAesKeyring("bench", "key", KEY)
    with open(src, "rb") as f, open(dst, "wb") as g:
        if op == "encrypt":
            ev.encrypt_stream(f, g, keyring=kr, suite=ev.suite_by_id(suite), frame_length=frame, threads=threads)
        else:
            ev.decrypt_stream(f, g, keyring=kr, threads=threads)


def _sdk(op: str, suite: int, frame: int, src: str, dst: str, threads: int) -> None:
    import aws_encryption_sdk as sdk
    from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy, EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

    class P(RawMasterKeyProvider):  # type: ignore[misc]
        provider_id = "bench"

        def _get_raw_key(self, key_id: bytes) -> WrappingKey:
            return WrappingKey(wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                               wrapping_key=KEY, wrapping_key_type=EncryptionKeyType.SYMMETRIC)

    p = P()
    p.add_master_key(b"key")
    client = sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    with open(src, "rb") as f, open(dst, "wb") as g:
        kw = {"algorithm": Algorithm.get_by_id(suite), "frame_length": frame} if op == "encrypt" else {}
        with client.stream(mode="e" if op == "encrypt" else "d", source=f, key_provider=p, **kw) as s:
            for chunk in s:
                g.write(chunk)


def _limit(name: str, frame: int, src: str, dst: str, size: int) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(KEY)
    nonce = bytes(12)
    aad = bytes(72)
    if name == "sha384":
        h = hashlib.sha384()
        buf = memoryview(bytearray(os.urandom(CHUNK)))
        for _ in range(size // CHUNK):
            h.update(buf)
    elif name in ("gcm", "gcm+sha384"):
        data = memoryview(bytearray(os.urandom(CHUNK)))
        out = memoryview(bytearray(CHUNK // frame * (frame + 16)))
        outs = [out[i * (frame + 16) : (i + 1) * (frame + 16)] for i in range(CHUNK // frame)]
        ins = [data[i * frame : (i + 1) * frame] for i in range(CHUNK // frame)]
        h = hashlib.sha384()
        enc = aead.encrypt_into
        for _ in range(size // CHUNK):
            for i_, o_ in zip(ins, outs):
                enc(nonce, i_, aad, o_)
            if name == "gcm+sha384":
                h.update(out)
    elif name == "copy":
        buf = memoryview(bytearray(CHUNK))
        with open(src, "rb") as f, open(dst, "wb") as g:
            while n := f.readinto(buf):
                g.write(buf[:n])
    elif name in ("direct-write", "direct-write-huge", "direct-copy"):
        # the disk itself: what any implementation that really writes its output pays
        import mmap
        if name == "direct-write-huge":
            # the buffer Trent's file path writes from (fileio._arena, huge pages): a 4 MiB
            # request is 2 segments, not 1,024 that a virtio disk (max_segments 254) must
            # take as 5 requests
            from trent.envelope.fileio import _arena
            _, (buf,) = _arena(4 * CHUNK, 1)
        else:
            buf = mmap.mmap(-1, 4 * CHUNK)
        fo = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o600)
        fi = os.open(src, os.O_RDONLY | os.O_DIRECT) if name == "direct-copy" else -1
        try:
            for off in range(0, size, len(buf)):
                if fi >= 0:
                    os.preadv(fi, [buf], off)
                os.pwrite(fo, buf, off)
        finally:
            os.close(fo)
            if fi >= 0:
                os.close(fi)
    elif name == "gcm-file":
        buf = memoryview(bytearray(CHUNK))
        out = memoryview(bytearray(CHUNK // frame * (frame + 16)))
        ins = [buf[i * frame : (i + 1) * frame] for i in range(CHUNK // frame)]
        outs = [out[i * (frame + 16) : (i + 1) * (frame + 16)] for i in range(CHUNK // frame)]
        enc = aead.encrypt_into
        with open(src, "rb") as f, open(dst, "wb") as g:
            while f.readinto(buf) == CHUNK:
                for i_, o_ in zip(ins, outs):
                    enc(nonce, i_, aad, o_)
                g.write(out)


def _idlest_cpu() -> int:
    """The allowed CPU with the most idle time over 0.3 s (the machine may be shared)."""
    def idle() -> dict[int, int]:
        out = {}
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3].isdigit():
                    parts = line.split()
                    out[int(parts[0][3:])] = int(parts[4])
        return out

    a = idle()
    time.sleep(0.3)
    b = idle()
    allowed = os.sched_getaffinity(0)
    return max(allowed, key=lambda c: b.get(c, 0) - a.get(c, 0))


def child(argv: list[str]) -> None:
    kind, op, suite, frame, src, dst, size, cpus = argv
    cpu = -1
    if cpus != "2":
        cpu = int(cpus[1:]) if cpus.startswith("@") else _idlest_cpu()
        os.sched_setaffinity(0, {cpu})
    # import outside the timed region (the functions' own imports then hit sys.modules)
    if kind.startswith("trent") or op == "direct-write-huge":
        import trent.envelope  # noqa: F401
    elif kind == "sdk":
        import aws_encryption_sdk  # noqa: F401
        import aws_encryption_sdk.key_providers.raw  # noqa: F401
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    threads = 2 if cpus == "2" else 1
    if kind == "trent":
        _trent(op, int(suite, 16), int(frame), src, dst, threads)
    elif kind == "trent-stream":
        _trent_stream(op, int(suite, 16), int(frame), src, dst, threads)
    elif kind == "sdk":
        _sdk(op, int(suite, 16), int(frame), src, dst, 1)
    else:
        _limit(op, int(frame), src, dst, int(size))
    dt = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)  # all threads
    # VmHWM is per address space (reset by exec); ru_maxrss would include the parent's
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/status") as st:
        for line in st:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
    print(json.dumps({"mbps": int(size) / dt / 1e6, "rss_mib": rss, "cpu": cpu,
                      "cpu_mbps": int(size) / cpu_s / 1e6}))


# --------------------------------------------------------------------------- driver


def _digest(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.digest()


def _busy() -> dict[int, tuple[int, int]]:
    """Per-CPU (busy, total) jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                parts = line.split()
                vals = [int(x) for x in parts[1:]]
                out[int(parts[0][3:])] = (sum(vals) - vals[3] - vals[4], sum(vals))
    return out


#: busy % of the CPUs the children did not run on, per measurement (reported as "other CPU")
OTHER_BUSY: list[float] = []


#: MB per CPU-second of the child (user + system, all threads), per measurement: what the work
#: costs, insensitive to sharing the core; wall-clock MB/s is the headline figure
CPU_RATE: list[float] = []


#: read each run's input into the page cache just before the run (``--cold`` turns it off).
#: This VM's page cache is reclaimed from outside within about a minute, and an output written
#: with O_DIRECT (Trent) is not cached while one written through the page cache (the SDK) is:
#: without warming, Trent's decrypt read its ciphertext from disk and the SDK's from memory.
WARM = True


def warm(path: str) -> None:
    """Drop ``path`` from the page cache, then read it in whole: every run starts from the
    same cache state. Re-reading a partly reclaimed file filled the holes with small folios,
    and copying out of those cost 50-55 ms per 512 MiB against 27-32 ms for a file read in
    one go (measured on the long-lived plain.bin vs a fresh ciphertext): the encrypt rows,
    whose input lives on across runs, paid for it and the decrypt rows did not."""
    with open(path, "rb", buffering=0) as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        buf = bytearray(CHUNK)
        while f.readinto(buf):
            pass


#: each one-core run's MB/s as a fraction of its raw limit measured on the same CPU just before
#: and just after it (mean of the two): this host's speed drifts by +-15 % within seconds (SHA-384
#: alone 676-825 MB/s in six runs a second apart), so a ratio is steadier than either number.
#: The limit is the issue's: AES-GCM in the row's frames + SHA-384 for the signed suites,
#: AES-GCM alone for the others, both in memory.
OF_LIMIT: list[float] = []
REF_SIZE = 128 << 20


def _run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    r = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True,
                       env=env)
    return json.loads(r.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(args: list[str], reps: int, cleanup: str | None = None,
            env: dict[str, str] | None = None) -> tuple[float, float]:
    speeds, rss = [], []
    for _ in range(reps):
        if cleanup and os.path.exists(cleanup):
            os.unlink(cleanup)
        # write back what the previous run left dirty (the SDK writes through the page cache):
        # else its 512 MiB are flushed during the next run, on the disk that run writes to
        os.sync()
        if WARM and (args[0] != "limit" or args[1] in ("gcm-file", "copy")):
            warm(args[4])
        ref = None
        if args[0] != "limit" and args[7] == "1":
            args = [*args[:7], f"@{_idlest_cpu()}"]
            ref = ["limit", "gcm+sha384" if args[2] == "0578" else "gcm", "0", args[3], "-", "-",
                   str(REF_SIZE), args[7]]
            before = _run_child(ref)["mbps"]
        a = _busy()
        d = _run_child(args, env)
        b = _busy()
        if ref is not None:
            OF_LIMIT.append(d["mbps"] / ((before + _run_child(ref)["mbps"]) / 2))
        speeds.append(d["mbps"])
        rss.append(d["rss_mib"])
        CPU_RATE.append(d["cpu_mbps"])
        if d["cpu"] >= 0:
            others = [c for c in b if c != d["cpu"]]
            busy = sum(b[c][0] - a[c][0] for c in others)
            total = sum(b[c][1] - a[c][1] for c in others)
            OTHER_BUSY.append(100 * busy / total if total else 0.0)
    return statistics.median(speeds), max(rss)


def _row(a: argparse.Namespace, suite: str, frame: int, cpus: str, impls: dict[str, tuple[str, dict[str, str] | None]],
         pt: Path, d: Path, s: str) -> None:
    """One table row per implementation, all measured interleaved rep by rep (each encrypts,
    then each decrypts its own ciphertext), so that this host's drift hits them alike; the
    ``x SDK`` column is the median of the per-rep ratios to the SDK's run next to it."""
    res: dict[str, dict[str, list[float]]] = {
        n: {"e": [], "d": [], "rss": [], "ce": [], "cd": [], "busy": [], "le": [], "ld": []} for n in impls}
    cts = {n: d / f"cipher-{n}.bin" for n in impls}
    out = d / "out.bin"
    for rep in range(a.reps):
        for op in ("encrypt", "decrypt"):
            for name, (kind, env) in impls.items():
                src, dst = (pt, cts[name]) if op == "encrypt" else (cts[name], out)
                OTHER_BUSY.clear()
                CPU_RATE.clear()
                OF_LIMIT.clear()
                mbps, rss = measure([kind, op, suite, str(frame), str(src), str(dst), s, cpus], 1, str(dst), env)
                r = res[name]
                r[op[0]].append(mbps)
                r["l" + op[0]].extend(OF_LIMIT)
                r["rss"].append(rss)
                r["c" + op[0]].append(CPU_RATE[0])
                r["busy"].extend(OTHER_BUSY)
                if op == "decrypt" and rep == a.reps - 1:
                    assert _digest(out) == _digest(pt), f"{name}: round trip mismatch"
    _check_interop(suite, frame, impls, cts, pt, d, s)
    med = statistics.median
    sdk = res.get("sdk")
    for name, r in res.items():
        other = f"{med(r['busy']):.0f} %" if r["busy"] else "-"
        vs = "-"
        if sdk is not None and name != "sdk":
            vs = " / ".join(f"{med([x / y for x, y in zip(r[o], sdk[o])]):.2f}x" for o in ("e", "d"))
        print(f"| 0x{suite} | {frame // 1024} KiB | {cpus} | {name} | {med(r['e']):.0f} | {med(r['d']):.0f} | "
              f"{max(r['rss']):.0f} | {other} | {med(r['ce']):.0f} / {med(r['cd']):.0f} | "
              f"{_pct(r['le'])} / {_pct(r['ld'])} | {vs} |", flush=True)
    for p in [*cts.values(), out]:
        if p.exists():
            p.unlink()


class InteropFailure(SystemExit):
    """A measured configuration whose bytes the other implementation cannot read: the figures
    of that row are void (a speed-up that changes bytes is a regression, issue 15)."""


def _check_interop(suite: str, frame: int, impls: dict[str, tuple[str, dict[str, str] | None]],
                   cts: dict[str, Path], pt: Path, d: Path, s: str) -> None:
    """After timing, untimed: the SDK decrypts the message each Trent implementation wrote, and
    each Trent implementation decrypts a message the SDK wrote, both compared by SHA-256 with
    the plaintext. Runs whether or not the SDK was part of the row (2-core rows, --skip-sdk)."""
    want = _digest(pt)
    out = d / "interop-out.bin"
    sdk_ct = cts["sdk"] if "sdk" in impls else d / "interop-sdk.bin"
    if "sdk" not in impls:
        _run_child(["sdk", "encrypt", suite, str(frame), str(pt), str(sdk_ct), s, "2"])
    checks = []
    for name, (kind, env) in impls.items():
        if kind == "sdk":
            continue
        for who, args, run_env in (("SDK reads " + name, ["sdk", "decrypt", suite, str(frame), str(cts[name])], None),
                                   (name + " reads SDK", [kind, "decrypt", suite, str(frame), str(sdk_ct)], env)):
            if out.exists():
                out.unlink()
            try:
                _run_child([*args, str(out), s, "2"], run_env)
                ok = _digest(out) == want
            except subprocess.CalledProcessError as exc:
                ok = False
                who += f" (exit {exc.returncode}: {exc.stderr.strip().splitlines()[-1] if exc.stderr.strip() else ''})"
            checks.append((who, ok))
    for p in (out, d / "interop-sdk.bin"):
        if p.exists():
            p.unlink()
    bad = [who for who, ok in checks if not ok]
    if bad:
        raise InteropFailure(f"INTEROP FAILURE 0x{suite}/{frame}: " + "; ".join(bad)
                             + " -- the figures of this row are void")
    print(f"|   | interop 0x{suite} / {frame // 1024} KiB: " + ", ".join(who for who, _ in checks)
          + ": SHA-256 equal |", flush=True)


def _pct(ratios: list[float]) -> str:
    return f"{100 * statistics.median(ratios):.0f} %" if ratios else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/trent-envelope-bench")
    ap.add_argument("--skip-sdk", action="store_true")
    ap.add_argument("--stream", action="store_true", help="also measure the streaming API over buffered files")
    ap.add_argument("--skip-limits", action="store_true")
    ap.add_argument("--rows", help="only these rows, e.g. 0578:4096:1,0478:65536:1 (suite:frame:cores)")
    ap.add_argument("--baseline", help="A/B: also measure trent from this src directory (row trent-base)")
    ap.add_argument("--cold", action="store_true",
                    help="do not read each run's input into the page cache first (disk-bound on this VM)")
    ap.add_argument("--child", nargs=8)
    a = ap.parse_args()
    if a.child:
        child(a.child)
        return
    global WARM
    WARM = not a.cold
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    size = a.size_mib << 20
    pt, out = d / "plain.bin", d / "out.bin"
    if not pt.exists() or pt.stat().st_size != size:
        with open(pt, "wb") as f:
            block = os.urandom(CHUNK)
            for _ in range(size // CHUNK):
                f.write(block)
    s = str(size)
    print(f"# {a.size_mib} MiB, median of {a.reps}, file -> file, MB/s = 10^6 B/s of plaintext; "
          f"load avg {os.getloadavg()[0]:.2f}; input {'cold (not warmed)' if a.cold else 'in the page cache'}")
    print("\n## raw limits (one core)")
    for name, frame, label in [("sha384", 4096, "SHA-384 (1 MiB updates)"),
                               ("gcm+sha384", 4096, "AES-GCM 4 KiB frames + SHA-384, in memory"),
                               ("gcm", 4096, "AES-GCM 4 KiB frames, in memory"),
                               ("gcm-file", 65536, "AES-GCM 64 KiB frames, file -> file"),
                               ("copy", 0, "plain copy (readinto + write), file -> file"),
                               ("direct-write", 0, "disk: O_DIRECT write, 4 MiB requests"),
                               ("direct-write-huge", 0, "disk: the same from huge-page buffers"),
                               ("direct-copy", 0, "disk: O_DIRECT read + write, 4 MiB requests")]:
        if a.skip_limits:
            break
        OTHER_BUSY.clear()
        mbps, rss = measure(["limit", name, "0", str(frame or 1), str(pt), str(out), s, "1"], a.reps, str(out))
        print(f"| {label:<45} | {mbps:7.0f} MB/s | other CPU {statistics.median(OTHER_BUSY):3.0f} % busy |",
              flush=True)
    print("\n| suite | frame | cores | impl | encrypt MB/s | decrypt MB/s | peak RSS MiB | other CPU busy "
          "| enc / dec MB per CPU-s | enc / dec % of limit | enc / dec x SDK |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [("0578", 4096, "1"), ("0578", 65536, "1"), ("0478", 4096, "1"), ("0478", 65536, "1"),
            ("0578", 4096, "2"), ("0578", 65536, "2")]
    if a.rows:
        rows = [(r.split(":")[0], int(r.split(":")[1]), r.split(":")[2]) for r in a.rows.split(",")]
    for suite, frame, cpus in rows:
        impls: dict[str, tuple[str, dict[str, str] | None]] = {"trent": ("trent", None)}
        if a.baseline:
            impls["trent-base"] = ("trent", {**os.environ, "PYTHONPATH": os.path.abspath(a.baseline)})
        if a.stream:
            impls["trent-stream"] = ("trent-stream", None)
        if not (a.skip_sdk or cpus == "2"):
            impls["sdk"] = ("sdk", None)
        _row(a, suite, frame, cpus, impls, pt, d, s)

if __name__ == "__main__":
    main()
