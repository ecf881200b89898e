"""Pick the root of trust by mode (issue 7): file (dev), sealed (Shamir), hsm (PKCS#11)."""

from __future__ import annotations

import os
from pathlib import Path

from trent.keystores.base import KeyStoreError
from trent.keystores.root_key import RootKey, load_or_create_file_root_key


def open_root(
    mode: str,
    data_dir: Path,
    root_key_file: Path,
    hsm_root: str | None = None,
    hsm_root_pin_file: Path | None = None,
) -> RootKey:
    if mode == "file":
        return load_or_create_file_root_key(root_key_file)
    if mode == "sealed":
        from trent.keystores.sealed import SealedRootKey

        return SealedRootKey.from_data_dir(data_dir)
    if mode == "hsm":
        from trent.keystores.hsm_root import HsmRootKey, read_pin
        from trent.keystores.pkcs11 import parse_cluster

        if not hsm_root:
            raise KeyStoreError("--root hsm needs --hsm-root MODULE:token=LABEL")
        _, config = parse_cluster("root=" + hsm_root)
        pin = read_pin(str(hsm_root_pin_file) if hsm_root_pin_file else None, os.environ.get("TRENT_HSM_ROOT_PIN"))
        return HsmRootKey(config, pin)
    raise KeyStoreError(f"unknown root mode {mode!r}")
