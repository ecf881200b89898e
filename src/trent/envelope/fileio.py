"""File I/O for the file -> file path: ``O_DIRECT`` with a read-ahead / write-behind thread.

Why not the page cache, and why not ``mmap`` (bench/ENVELOPE.md "Where the file time goes"):
the engine's CPU work at 4 KiB frames with SHA-384 is ~0.8 s per 512 MiB; a buffered write of
the output, or a buffered read of an uncached input, costs another 0.1 s to 1.6 s of *system*
time depending on where the kernel's fresh page-cache pages come from (on a VM with free-page
reporting, first touch of a reclaimed page is a host fault: perf shows 88 % of a slow write in
``copy_folio_from_iter_atomic``). Memory-mapping does not avoid this — a mapping still needs
fresh page-cache pages, and mapped writes into a new sparse file measured 2-3x slower than
``write``; mapped input saved nothing over ``readinto`` (the copy runs at 6-8 GB/s). ``O_DIRECT``
moves the bytes by DMA between the disk and a few reused, page-aligned buffers: ~0.05 s of
system time per 512 MiB, and the waiting happens on a helper thread that is off the CPU, so one
core does the crypto while the disk works.

Reads take what is already in the page cache from there (a plain copy on the ordinary
descriptor, no fresh pages) and the rest with ``O_DIRECT`` (a second open file description of
the same file), so a just-written or often-read input costs no disk I/O. Whether a buffer's
range is cached is asked with ``cachestat(2)`` (Linux 6.5+), NOT by trying a ``RWF_NOWAIT``
read: that read starts readahead for the missing pages (``filemap_get_pages`` ->
``page_cache_sync_readahead``), so an uncached input was read twice and its page-cache copy
landed in fresh pages — perf of a decrypt right after an encrypt: 45 % of all samples in
``_copy_to_iter`` at ~650 MB/s, sys 0.5-0.8 s per 512 MiB vs 0.1 s. ``RWF_NOWAIT`` remains
the fallback where ``cachestat`` is missing.

Alignment: ``O_DIRECT`` needs page-aligned buffers, offsets and lengths that are multiples of
the block size. Each direction's buffers are carved from one private anonymous mapping,
2 MiB-aligned and advised for transparent huge pages (:func:`_arena`): a 3 MiB write from
4 KiB pages is 768 segments, which a virtio disk (``max_segments`` 254) gets as four requests,
from huge pages it is one request of two segments — the disk then took O_DIRECT writes at
2.2-2.4 GB/s instead of 1.8-2.0 (bench/ENVELOPE.md "Huge-page buffers"); and the buffers
fault in once per 2 MiB instead of once per 4 KiB (~3 us a fault on a VM: ~11 ms a call).
The writer stages the engine's chunks into whole buffers, pads the last block and truncates
the file to its exact length at the end; the reader reads from the block below the current
position and skips the head. Where ``O_DIRECT`` is refused
(``EINVAL``: tmpfs on older kernels, some network file systems) both fall back to ordinary
``pread``/``pwrite`` on the same thread, transparently.

Memory: ``DEPTH`` buffers per direction (3 x 2 MiB read, 3 x 3 MiB write, in 6 and 10 MiB of
huge pages), whatever the file size; the engine uses the writer's buffers for its output
instead of its own (_sink.py).
Security: nothing here decides what is released — the writer only ever receives what the
engine yielded (verified frames); :meth:`DirectWriter.abort` zeroes the staging buffers and
truncates the file so a failed decryption leaves no plaintext in it. The buffers are left out
of core dumps (``MADV_DONTDUMP``): they hold plaintext.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os
import queue
import stat
import threading
from typing import Any

#: block size for O_DIRECT offsets/lengths (the page size covers every common device)
BLOCK = mmap.PAGESIZE if mmap.PAGESIZE >= 4096 else 4096
BUF = 2 << 20
DEPTH = 3
#: the writer's buffers: two engine chunks (~1 MiB each) fit one buffer (see DirectWriter)
WBUF = 3 << 20
#: the transparent huge page size of x86-64 and arm64 (4 KiB base pages): arenas align to it
HUGE = 2 << 20

_DIRECT = getattr(os, "O_DIRECT", 0)


class _CachestatRange(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]


class _Cachestat(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in
                ("nr_cache", "nr_dirty", "nr_writeback", "nr_evicted", "nr_recently_evicted")]


#: cachestat(2) (Linux 6.5+; the same number on every architecture with the unified table)
_NR_CACHESTAT = 451
_libc: ctypes.CDLL | None = None
_HAVE_CACHESTAT = True


def cached_pages(fd: int, off: int, length: int) -> int | None:
    """Pages of ``fd``'s ``[off, off + length)`` in the page cache, or None if the kernel
    cannot tell (no cachestat(2)). Asks without reading: a read, even ``RWF_NOWAIT``, starts
    readahead for missing pages (see :class:`DirectReader`)."""
    global _libc, _HAVE_CACHESTAT
    if not _HAVE_CACHESTAT or not hasattr(os, "O_DIRECT"):
        return None
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    cs = _Cachestat()
    if _libc.syscall(_NR_CACHESTAT, fd, ctypes.byref(_CachestatRange(off, length)), ctypes.byref(cs), 0) != 0:
        if ctypes.get_errno() in (errno.ENOSYS, errno.EPERM, errno.EOPNOTSUPP):
            _HAVE_CACHESTAT = False  # old kernel or seccomp: RWF_NOWAIT from now on
        return None
    return int(cs.nr_cache)


def _address(buf: Any) -> int:
    """The address of a writable, non-empty buffer's first byte (the ctypes object, and with it
    the buffer export, is dropped at once)."""
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


def _arena(size: int, count: int) -> tuple[mmap.mmap, list[memoryview]]:
    """``count`` buffers of ``size`` bytes, back to back in one private anonymous mapping that
    starts on a :data:`HUGE` boundary and is advised for huge pages (see the module doc).

    The mapping is over-allocated by ``HUGE`` to place the start; the unused part is never
    touched, so it costs address space only. Advice the kernel refuses (no THP, not Linux)
    leaves ordinary pages: still page-aligned, as O_DIRECT needs. Private, not shared, memory:
    shared anonymous memory is shmem, which gets no huge pages unless the administrator
    enables them for shmem."""
    total = size * count
    span = -(-total // HUGE) * HUGE  # whole huge pages: the last buffer's tail is one too
    flags = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)
    m = mmap.mmap(-1, span + HUGE, flags=flags) if flags else mmap.mmap(-1, span + HUGE)
    start = -_address(m) % HUGE
    for advice, off, length in ((getattr(mmap, "MADV_HUGEPAGE", None), start, span),
                                (getattr(mmap, "MADV_DONTDUMP", None), 0, span + HUGE)):
        if advice is not None:
            try:
                m.madvise(advice, off, length)
            except OSError:
                pass  # e.g. a kernel without THP: ordinary pages
    whole = memoryview(m)
    bufs = [whole[start + i * size : start + (i + 1) * size] for i in range(count)]
    whole.release()
    return m, bufs


def _set_direct(fd: int, on: bool) -> bool:
    """Set/clear O_DIRECT on ``fd``; False if the platform or file system refuses."""
    if not _DIRECT:
        return False
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | _DIRECT) if on else (flags & ~_DIRECT))
    except OSError:
        return False
    return True


class _Worker:
    """One helper thread fed through a queue; its first exception is re-raised to the caller."""

    def __init__(self, name: str) -> None:
        self.jobs: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                job()
            except BaseException as e:  # noqa: BLE001 - handed to the caller thread
                if self.error is None:
                    self.error = e

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join()


class DirectReader:
    """Sequential ``readinto`` over ``fd`` from its current position, read ahead by a thread.

    Reads ``DEPTH`` buffers ahead; each ``readinto`` copies out of the oldest one, and
    :meth:`borrow` lends a view of it instead (the encrypt engine takes whole chunks so, no
    copy). The file position of ``fd`` is not advanced (``pread``). Call :meth:`close`
    (stops the thread).
    """

    def __init__(self, fd: int, *, buf: int = BUF, depth: int = DEPTH, direct: bool = True) -> None:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("DirectReader needs a regular file")
        self.fd = fd
        # the file offset of the next byte the thread reads (it reads from the block below);
        # the thread owns it while it runs (stride() stops the thread before changing it)
        self.next = os.lseek(fd, 0, os.SEEK_CUR)
        self.size = os.fstat(fd).st_size  # past it (a growing file): O_DIRECT
        #: 0: fill whole buffers; else lay buffers out in whole units of this size (stride())
        self.unit = 0
        # a second open file description with O_DIRECT; ``fd`` stays buffered and serves
        # whatever is already in the page cache (RWF_NOWAIT), which costs no fresh pages
        self.dfd: int | None = None
        if direct and _DIRECT and hasattr(os, "RWF_NOWAIT"):
            try:
                self.dfd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | _DIRECT)
            except OSError:
                self.dfd = None
        self.free: queue.Queue[memoryview | None] = queue.Queue()
        # (buffer, its file offset, first valid byte, end of valid bytes); hi == lo: EOF
        self.ready: queue.Queue[tuple[memoryview, int, int, int] | BaseException] = queue.Queue()
        # each buffer is one view for its whole life: borrowed regions are sliced from it, and
        # the engine caches its per-frame views by (view, offset) (_frameviews.py)
        self.arena, self.bufs = _arena(buf, depth)
        for b in self.bufs:
            self.free.put(b)
        self.buf = buf
        self.cur: memoryview | None = None
        self.cur_at = 0  # file offset of ``cur``'s first byte
        self.view = memoryview(b"")
        self.off = self.end = 0
        self.eof = False
        self.closed = False
        self.thread = self._start()

    def _start(self) -> threading.Thread:
        t = threading.Thread(target=self._loop, name="trent-read", daemon=True)
        t.start()
        return t

    def _pread(self, mv: memoryview, at: int) -> int:
        """Read into ``mv`` at block-aligned ``at``: from the page cache what is there, the
        rest with O_DIRECT."""
        if self.dfd is None:
            return os.preadv(self.fd, [mv], at)
        want = min(len(mv), self.size - at)
        cached = cached_pages(self.fd, at, len(mv)) if want > 0 else None
        if cached is not None:
            # all of it cached: a plain copy; otherwise O_DIRECT for the whole buffer (the
            # kernel writes back dirty pages of the range first, so it is coherent)
            got = 0
            if cached * mmap.PAGESIZE >= want:
                return os.preadv(self.fd, [mv], at)
        else:
            try:
                got = os.preadv(self.fd, [mv], at, os.RWF_NOWAIT)
            except BlockingIOError:
                got = 0
            if got == len(mv) or got % BLOCK:
                return got  # all cached, or a short tail (EOF) — the next call sorts it out
        rest = mv[got:]
        try:
            return got + os.preadv(self.dfd, [rest], at + got)
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
            os.close(self.dfd)  # O_DIRECT refused by this file system: buffered from here on
            self.dfd = None
            return got + os.preadv(self.fd, [rest], at + got)
        finally:
            rest.release()

    def _loop(self) -> None:
        try:
            while (b := self.free.get()) is not None:
                at = self.next - self.next % BLOCK
                lo = self.next - at
                want = len(b)
                if self.unit:
                    # whole units only: the next buffer starts where the last unit ended
                    units = (len(b) - lo) // self.unit
                    want = min(len(b), -(-(lo + units * self.unit) // BLOCK) * BLOCK)
                mv = b[:want]
                try:
                    n = self._pread(mv, at)
                finally:
                    mv.release()
                hi = min(n, lo + units * self.unit) if self.unit else n
                if hi <= lo:
                    self.ready.put((b, at, lo, lo))
                    return
                self.next = at + hi
                self.ready.put((b, at, lo, hi))
        except BaseException as e:  # noqa: BLE001 - re-raised by readinto
            self.ready.put(e)

    def _next(self) -> None:
        if self.cur is not None:
            self.free.put(self.cur)
            self.cur = None
        item = self.ready.get()
        if isinstance(item, BaseException):
            self.eof = True
            raise item
        b, at, lo, hi = item
        if hi == lo:
            self.free.put(b)
            self.eof = True
            return
        self.cur, self.cur_at, self.view = b, at, b
        self.off, self.end = lo, hi

    def stride(self, unit: int) -> bool:
        """From the current position on, fill each read-ahead buffer with whole ``unit``-byte
        pieces (as many as fit), so that every ``borrow(unit)`` succeeds until the last,
        short piece. The decrypt engine asks for this once it reads whole chunks of frames
        from a position that is not a multiple of the buffer size (after the header); else
        about every other chunk straddles two buffers and must be copied. What was read
        ahead is dropped and read again (at most ``DEPTH`` buffers, once). False, changing
        nothing, if ``unit`` does not fit a buffer or the reader is at its end."""
        if unit == self.unit and unit > 0:
            return True  # already laid out so
        if not 0 < unit <= self.buf - BLOCK or self.eof or self.closed:
            return False
        self.free.put(None)
        self.thread.join()
        # the consumer's position: in the current buffer; else (nothing consumed yet) the
        # first buffer read ahead; else where the (now stopped) thread would read next
        pos = self.cur_at + self.off if self.cur is not None else None
        buffers = [] if self.cur is None else [self.cur]
        error: BaseException | None = None
        while not self.ready.empty():
            item = self.ready.get()
            if isinstance(item, BaseException):
                error = item
            else:
                buffers.append(item[0])
                if pos is None:
                    pos = item[1] + item[2]
        while not self.free.empty():
            if (b := self.free.get()) is not None:
                buffers.append(b)
        for b in buffers:
            self.free.put(b)
        self.cur, self.off, self.end = None, 0, 0
        if error is not None:
            self.ready.put(error)  # raised by the next read, as without stride()
            self.thread = threading.Thread(target=self.free.get, daemon=True)  # close() joins it
            self.thread.start()
            return False
        self.next, self.unit = self.next if pos is None else pos, unit
        self.thread = self._start()
        return True

    def readable(self) -> bool:
        return True

    def readinto(self, view: Any) -> int:
        """Fill as much of ``view`` as the current buffer holds (0 only at EOF)."""
        while self.off == self.end:
            if self.eof:
                return 0
            self._next()
        n = min(len(view), self.end - self.off)
        view[:n] = self.view[self.off : self.off + n]
        self.off += n
        return n

    def borrow(self, n: int) -> tuple[memoryview, int] | None:
        """The next ``n`` bytes inside the read-ahead buffer itself (no copy), as (a view of
        the whole buffer, offset of the bytes in it) — or None if they are not all in the
        current buffer (then use :meth:`readinto`). Valid until the next
        ``borrow``/``readinto``: the buffer is recycled after that."""
        while self.off == self.end:
            if self.eof:
                return None
            self._next()
        if self.end - self.off < n:
            return None
        off = self.off
        self.off += n
        return self.view, off

    def read(self, n: int = -1) -> bytes:
        out = bytearray(max(n, 0) if n >= 0 else BUF)
        got = self.readinto(memoryview(out))
        return bytes(out[:got])

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.free.put(None)  # the thread stops at most DEPTH reads later (``ready`` is unbounded)
        self.thread.join()
        if self.dfd is not None:
            os.close(self.dfd)
            self.dfd = None
        for v in self.bufs:
            v.release()

    def __enter__(self) -> DirectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DirectWriter:
    """``write`` stages into aligned buffers; a thread writes each full one at its offset.

    Starts at ``fd``'s current position (must be block-aligned for O_DIRECT, else plain
    writes are used). :meth:`finish` writes the tail and truncates the file to the exact
    length; :meth:`abort` discards everything (buffers zeroed, file truncated to the start).

    It also lends its buffers (_sink.py): :meth:`reserve` returns the current buffer's view
    and the current position in it, and a ``write`` of a view of that reservation only advances the position — the
    engine encrypts/decrypts straight into the O_DIRECT buffer, no staging copy. When a
    reservation does not fit, the block-aligned part of the buffer is written and the
    unaligned tail (< one block) carried to the next buffer.
    """

    def __init__(self, fd: int, *, buf: int = WBUF, depth: int = DEPTH, direct: bool = True) -> None:
        self.fd = fd
        self.start = os.lseek(fd, 0, os.SEEK_CUR)
        self.direct = direct and self.start % BLOCK == 0 and _set_direct(fd, True)
        self.size = buf
        self.free: queue.Queue[memoryview] = queue.Queue()
        # each buffer is one view for its whole life (see DirectReader.bufs)
        self.arena, self.bufs = _arena(buf, depth)
        self.addrs: dict[int, int] = {}  # each buffer's address: is a write the reservation?
        for b in self.bufs:
            self.addrs[id(b)] = _address(b)
            self.free.put(b)
        self.worker = _Worker("trent-write")
        self.cur = self.free.get()
        self.n = 0  # bytes staged in ``cur``
        self.flushed = self.start  # file offset of ``cur``'s first byte
        self.done = False
        self.max_reserve = buf - BLOCK
        self.reserved = 0  # length of the outstanding reservation at ``n`` (0: none)

    def _pwrite(self, b: memoryview, n: int, at: int) -> None:
        mv = b[:n]
        try:
            off = 0
            while off < n:
                try:
                    off += os.pwrite(self.fd, mv[off:], at + off)
                except OSError as e:
                    if not (self.direct and e.errno == errno.EINVAL and _set_direct(self.fd, False)):
                        raise
                    self.direct = False  # refused: plain writes from here on
        finally:
            mv.release()
            self.free.put(b)

    def _submit(self, n: int, keep: int = 0) -> None:
        """Write ``cur[:n]`` behind; ``cur[n:n + keep]`` moves to the start of the next buffer."""
        if self.worker.error is not None:
            raise self.worker.error
        b, at = self.cur, self.flushed
        nxt = self.free.get()  # before the job: ``b`` is still ours while the tail is copied
        if keep:
            nxt[:keep] = b[n : n + keep]
        self.worker.jobs.put(lambda: self._pwrite(b, n, at))
        self.flushed += n
        self.cur = nxt
        self.n = keep

    def reserve(self, size: int) -> tuple[memoryview, int]:
        """Room for ``size`` bytes at the current position: (the current buffer's view, the
        offset in it); writable until the next ``reserve``/``write`` (see the class doc)."""
        if size > self.max_reserve:
            raise ValueError("reservation larger than the writer's buffer")
        if self.n + size > self.size:
            keep = self.n % BLOCK if self.direct else 0
            self._submit(self.n - keep, keep)
        self.reserved = size
        return self.cur, self.n

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.reserved:
            size, self.reserved = self.reserved, 0
            if (isinstance(data, memoryview) and data.obj is self.arena and 0 < data.nbytes <= size
                    and not data.readonly and _address(data) == self.addrs[id(self.cur)] + self.n):
                # the engine filled (a prefix of) the reservation in place; any other view
                # (even of this buffer) is copied below like foreign bytes
                self.n += data.nbytes
                if self.n == self.size:
                    self._submit(self.n)
                return data.nbytes
        src = memoryview(data).cast("B")
        total = len(src)
        p = 0
        while p < total:
            take = min(total - p, self.size - self.n)
            self.cur[self.n : self.n + take] = src[p : p + take]
            self.n += take
            p += take
            if self.n == self.size:
                self._submit(self.n)
        return total

    def finish(self) -> int:
        """Write everything, truncate to the exact length; returns bytes written."""
        if self.done:
            return self.flushed - self.start
        self.done = True
        end = self.flushed + self.n
        padded = self.n + (-self.n % BLOCK if self.direct else 0)
        self.cur[self.n : padded] = bytes(padded - self.n)
        if padded:
            self._submit(padded)
        self.worker.stop()
        if self.worker.error is not None:
            raise self.worker.error
        if self.direct:
            _set_direct(self.fd, False)
        os.ftruncate(self.fd, end)
        os.lseek(self.fd, end, os.SEEK_SET)
        return end - self.start

    def abort(self) -> None:
        """Discard: wait for the thread, zero every buffer (the ones written behind still hold
        output), truncate the file to the start."""
        if self.done:
            return
        self.done = True
        self.worker.stop()
        zeros = bytes(self.size)
        for b in self.bufs:
            b[:] = zeros
        if self.direct:
            _set_direct(self.fd, False)
        try:
            os.ftruncate(self.fd, self.start)
        except OSError:
            pass


class PlainWriter:
    """The :class:`DirectWriter` interface over ordinary ``write`` calls (page cache)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.start = os.lseek(fd, 0, os.SEEK_CUR)
        self.n = 0
        self.done = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        mv = memoryview(data).cast("B")
        off = 0
        while off < len(mv):
            off += os.write(self.fd, mv[off:])
        self.n += off
        return off

    def finish(self) -> int:
        self.done = True
        return self.n

    def abort(self) -> None:
        """Discard: truncate the file back to where it started."""
        if not self.done:
            self.done = True
            try:
                os.ftruncate(self.fd, self.start)
            except OSError:
                pass
