"""`trent backup create|verify|restore FILE` (issue 20; format in storage/backup.py).

The store is named as for `trent admin` (--data-dir / --database-url), the root of
trust as for `trent serve` (--root file|sealed|hsm, with --share-file for a sealed
root): the root seals the backup's digest, so only a root that can open the seal —
the same root the key material is wrapped under — can restore it.

    trent backup create /backups/trent-$(date +%F).tbk --database-url postgresql://... \\
        --root hsm --hsm-root MODULE:token=trent-root --hsm-root-pin-file /etc/trent/hsm.pin
    trent backup verify FILE ...       # seal and digest checked; nothing written
    trent backup restore FILE --database-url postgresql://.../empty ...
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

BACKUP_AAD = b"trent/backup-digest/v1"


def _root_and_url(args: argparse.Namespace):
    from trent.cli.main import _settings
    from trent.cli.root import _open_root

    settings = _settings(args)
    data_dir = settings.data_dir
    root = _open_root(
        settings.root_mode, data_dir=data_dir,
        root_key_file=settings.root_key_file or (data_dir / "root.key" if settings.dev else None),
        hsm_root=settings.hsm_root, pin_file=settings.hsm_root_pin_file,
        share_files=args.share_file or [], create=False,
    )
    return root, settings.effective_database_url


def _seal(root) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    return (lambda digest: root.wrap(digest, BACKUP_AAD)), (lambda blob: root.unwrap(blob, BACKUP_AAD))


def cmd_backup(args: argparse.Namespace) -> int:
    from trent.keystores.base import KeyStoreError
    from trent.storage.backup import BackupError, create_backup, restore_backup, verify_backup
    from trent.storage.changes import EVERYTHING
    from trent.storage.sql import SqlStorage, migrate

    try:
        root, url = _root_and_url(args)
        seal, unseal = _seal(root)
        if args.backup_command == "verify":
            verify_backup(args.file, unseal)
            print(json.dumps({"verified": str(args.file)}))
            return 0
        migrate(url)
        storage = SqlStorage(url)
        try:
            if args.backup_command == "create":
                summary = create_backup(storage.engine, args.file, seal)
            else:
                summary = restore_backup(storage.engine, args.file, unseal)
                storage.publish_changes([EVERYTHING])  # any process already watching this store
        finally:
            storage.close()
    except (BackupError, KeyStoreError) as exc:
        print(f"trent: backup {args.backup_command}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"file": str(args.file), "backend": summary.backend, "schema": list(summary.schema),
                      "createdAt": summary.created_at, "rows": summary.tables}))
    return 0


def register(sub: argparse._SubParsersAction, add_storage_options: Callable[[argparse.ArgumentParser], None],
             add_root_options: Callable[[argparse.ArgumentParser], None]) -> None:
    backup = sub.add_parser("backup", help="sealed, consistent backups of the store (key material stays wrapped)")
    backup_sub = backup.add_subparsers(dest="backup_command", required=True)
    helps = {
        "create": "snapshot the store (online: servers keep serving) into FILE, sealed by the root of trust",
        "verify": "check FILE's seal and contents with the root of trust; change nothing",
        "restore": "restore FILE into an EMPTY store (same schema version); verified first",
    }
    for name, text in helps.items():
        p = backup_sub.add_parser(name, help=text)
        p.add_argument("file", type=Path)
        add_storage_options(p)
        add_root_options(p)
        p.add_argument("--share-file", type=Path, action="append", help="--root sealed: one unseal share per flag")
    backup.set_defaults(func=cmd_backup)
