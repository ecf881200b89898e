"""Output files without a name until verified (tempout.py): nothing visible while writing,
nothing left after a crash, no clobbering without overwrite, the mkstemp fallback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from trent import envelope as ev
from trent.envelope import files, tempout
from trent.envelope.api import StreamResult


def _o_tmpfile_works(d: Path) -> bool:
    out = tempout.HiddenOutput(d / "probe")
    try:
        return out.hidden
    finally:
        out.discard()
        out.close()


def test_output_has_no_name_while_it_is_written(keyring: ev.RawAesKeyring, tmp_path: Path) -> None:
    if not _o_tmpfile_works(tmp_path):
        pytest.skip("no O_TMPFILE on this file system")
    pt = os.urandom(3 << 20)
    (tmp_path / "p").write_bytes(pt)
    ct = ev.encrypt(pt, keyring=keyring).ciphertext
    (tmp_path / "c").write_bytes(ct)
    seen: list[list[str]] = []

    def produce(sink: BinaryIO) -> StreamResult:
        with open(tmp_path / "c", "rb") as src:
            r = ev.decrypt_stream(src, sink, keyring=keyring)
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return r

    files.write_verified(tmp_path / "o", produce)
    assert seen == [["c", "p"]]  # all plaintext written, still no directory entry
    assert (tmp_path / "o").read_bytes() == pt
    assert (tmp_path / "o").stat().st_mode & 0o777 == 0o600


_CRASH = """
import os, signal, sys
from trent.envelope import files
def produce(sink):
    sink.write(b"partial plaintext " * 100_000)
    os.kill(os.getpid(), signal.SIGKILL)
files.write_verified(sys.argv[1], produce)
"""


@pytest.mark.parametrize("o_tmpfile", [True, False])
def test_a_crash_leaves_nothing_behind_only_with_o_tmpfile(tmp_path: Path, o_tmpfile: bool) -> None:
    if o_tmpfile and not _o_tmpfile_works(tmp_path):
        pytest.skip("no O_TMPFILE on this file system")
    code = _CRASH if o_tmpfile else "from trent.envelope import tempout; tempout._O_TMPFILE = 0\n" + _CRASH
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], check=False)
    assert r.returncode == -signal.SIGKILL
    left = sorted(p.name for p in tmp_path.iterdir())
    if o_tmpfile:
        assert left == []
    else:  # the fallback's known weakness, which O_TMPFILE removes
        assert len(left) == 1 and left[0].endswith(".partial")


@pytest.mark.parametrize("o_tmpfile", [True, False])
def test_no_clobber_if_the_target_appears_meanwhile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     o_tmpfile: bool) -> None:
    if not o_tmpfile:
        monkeypatch.setattr(tempout, "_O_TMPFILE", 0)
    target = tmp_path / "t"

    def produce(sink: BinaryIO) -> StreamResult:
        sink.write(b"new")
        target.write_bytes(b"someone else's")
        return None  # type: ignore[return-value]

    with pytest.raises(FileExistsError):
        files.write_verified(target, produce)
    assert target.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


@pytest.mark.parametrize("o_tmpfile", [True, False])
def test_overwrite_and_failure(keyring: ev.RawAesKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               o_tmpfile: bool) -> None:
    if not o_tmpfile:
        monkeypatch.setattr(tempout, "_O_TMPFILE", 0)
    pt = os.urandom(100_000)
    (tmp_path / "p").write_bytes(pt)
    (tmp_path / "c").write_bytes(b"old")
    ev.encrypt_file(tmp_path / "p", tmp_path / "c", keyring=keyring, overwrite=True)
    ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring)
    assert (tmp_path / "o").read_bytes() == pt
    bad = bytearray((tmp_path / "c").read_bytes())
    bad[-200] ^= 1
    (tmp_path / "c").write_bytes(bad)
    with pytest.raises(ev.DecryptionFailed):
        ev.decrypt_file(tmp_path / "c", tmp_path / "o", keyring=keyring, overwrite=True)
    assert (tmp_path / "o").read_bytes() == pt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "o", "p"]
