"""``trent.storage`` exports its public surface (habits §12) without importing SQL eagerly."""

from __future__ import annotations

import subprocess
import sys

import trent.storage


def test_every_exported_name_resolves() -> None:
    for name in trent.storage.__all__:
        assert getattr(trent.storage, name) is not None, name


def test_importing_the_protocols_does_not_import_sqlalchemy() -> None:
    code = "import sys, trent.storage; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
