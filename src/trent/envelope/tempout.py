"""An output file that has no name until its content is verified (``O_TMPFILE``).

Why: the file path writes plaintext as frames verify, and for signed suites the whole message
is only verified at the footer. Until then the output must not be visible under ``target``
— and must not survive a crash either: a named temporary file (``mkstemp``) left behind by a
SIGKILL or a power cut holds partial, possibly unverified plaintext. An ``O_TMPFILE`` file
lives in ``target``'s directory (same file system, so publishing is a link, not a copy) but
has no directory entry: if the process dies, the kernel frees it.

:meth:`HiddenOutput.publish` gives it its name: without ``overwrite``, ``linkat`` straight to
``target`` (atomic, fails with ``FileExistsError`` if ``target`` appeared meanwhile); with
``overwrite``, ``linkat`` to a fresh hidden name, then ``rename`` over ``target``. Only a
crash between those two steps leaves a file behind, and it is complete and verified.

Fallback (``O_TMPFILE`` missing or refused by the file system, or no ``/proc/self/fd`` to
link from): a 0600 ``mkstemp`` file beside ``target``, removed on failure — the previous
behaviour.
"""

from __future__ import annotations

import errno
import os
import secrets
import tempfile
from pathlib import Path

_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
#: errors with which a kernel or file system says "no O_TMPFILE here"
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


class HiddenOutput:
    """``fd`` is the output file; :meth:`publish` on success, :meth:`discard` on failure,
    :meth:`close` always."""

    def __init__(self, target: str | os.PathLike[str], *, hidden: bool = True) -> None:
        self.target = Path(target)
        self.name: str | None = None  # the file's current name (None: unnamed, O_TMPFILE)
        self.fd = -1
        if hidden and _O_TMPFILE and os.path.isdir("/proc/self/fd"):
            try:
                self.fd = os.open(self.target.parent, _O_TMPFILE | os.O_RDWR, 0o600)
            except OSError as e:
                if e.errno not in _UNSUPPORTED:
                    raise
        if self.fd < 0:
            self.fd, self.name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".partial",
                                                  dir=self.target.parent)

    @property
    def hidden(self) -> bool:
        return self.name is None

    def publish(self, *, overwrite: bool) -> None:
        """Make the file ``target``."""
        if self.name is None:
            leaf = self.target.name if not overwrite else f".{self.target.name}.{secrets.token_hex(8)}.done"
            self._link(leaf)  # without overwrite: FileExistsError if ``target`` appeared
            self.name = str(self.target.parent / leaf)
        if not overwrite and self.name != str(self.target) and self.target.exists():
            raise FileExistsError(f"{self.target} exists")
        if self.name != str(self.target):
            os.replace(self.name, self.target)
            self.name = str(self.target)

    def _link(self, leaf: str) -> None:
        # linkat(AT_SYMLINK_FOLLOW) on the /proc magic link. A directory fd makes CPython
        # call linkat; with default arguments it calls link(2), which does not follow it.
        d = os.open(self.target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.link(f"/proc/self/fd/{self.fd}", leaf, dst_dir_fd=d, follow_symlinks=True)
        finally:
            os.close(d)

    def discard(self) -> None:
        """Forget the content: unnamed files vanish on close; a named temporary is removed."""
        if self.name is not None and self.name != str(self.target):
            try:
                os.unlink(self.name)
            except FileNotFoundError:
                pass
            self.name = None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
