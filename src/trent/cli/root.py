"""`trent init | unseal | seal | admin rewrap-root`: the root of trust from the command line (issue 7)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"


def add_serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", dest="root_mode", choices=("file", "sealed", "hsm"),
                   help="root of trust (env TRENT_ROOT_MODE): file (--root-key-file; the --dev default), "
                   "sealed (Shamir shares: `trent init`, then `trent unseal`), hsm (a key inside a PKCS#11 token)")
    p.add_argument("--hsm-root", metavar="MODULE:token=LABEL",
                   help="--root hsm: the token holding the root key (env TRENT_HSM_ROOT)")
    p.add_argument("--hsm-root-pin-file", type=Path,
                   help="--root hsm: file whose first line is the token's user PIN (or env TRENT_HSM_ROOT_PIN)")


def cmd_init(args: argparse.Namespace) -> int:
    from trent.keystores.base import KeyStoreError
    from trent.keystores.sealed import init_sealed_root

    try:
        mnemonics = init_sealed_root(args.data_dir, args.threshold, args.shares)
    except KeyStoreError as exc:
        print(f"trent: error: {exc}", file=sys.stderr)
        return 2
    print(f"Sealed root of trust created in {args.data_dir.resolve()} ({args.threshold} of {args.shares} shares).")
    if args.share_dir is not None:
        args.share_dir.mkdir(parents=True, exist_ok=True)
        for i, m in enumerate(mnemonics, 1):
            path = args.share_dir / f"share-{i}.txt"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(m + "\n")
            print(f"  share {i}: {path}")
        print("Give each share to a different person; this is the only time they are written.")
    else:
        print("Shown ONCE: give each share to a different person. Any "
              f"{args.threshold} of them unseal the server; Trent keeps none of them.\n")
        for i, m in enumerate(mnemonics, 1):
            print(f"share {i}: {m}")
    print(f"\nStart with: trent serve --root sealed --data-dir {args.data_dir}  then: trent unseal")
    return 0


def _post(url: str, payload: dict[str, str] | None) -> tuple[int, dict]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _progress(doc: dict) -> str:
    if not doc.get("sealed", True):
        return "Unsealed."
    return f"Sealed: {doc.get('progress', 0)} of {doc.get('threshold', '?')} shares received."


def cmd_unseal(args: argparse.Namespace) -> int:
    base = args.endpoint_url.rstrip("/")
    if args.share_file is not None:
        share = args.share_file.read_text().strip()
    elif sys.stdin.isatty():
        share = getpass.getpass("Unseal share (input hidden): ")
    else:
        share = sys.stdin.readline().strip()
    status, doc = _post(base + "/_trent/unseal", {"share": share})
    if status != 200:
        print(f"trent: share refused: {doc.get('message', status)}", file=sys.stderr)
        print(_progress(doc), file=sys.stderr)
        return 1
    print(_progress(doc))
    return 0


def cmd_seal(args: argparse.Namespace) -> int:
    token = (args.data_dir / "admin.token").read_text().strip()
    status, doc = _post(args.endpoint_url.rstrip("/") + "/_trent/seal", {"token": token})
    if status != 200:
        print(f"trent: {doc.get('message', status)}", file=sys.stderr)
        return 1
    print(_progress(doc))
    return 0


def cmd_seal_status(args: argparse.Namespace) -> int:
    _, doc = _post(args.endpoint_url.rstrip("/") + "/_trent/seal-status", None)
    print(_progress(doc))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser("init", help="create a Shamir-sealed root of trust (prints the unseal shares once)")
    init.add_argument("--data-dir", type=Path, default=Path(".trent"))
    init.add_argument("--shares", type=int, default=5, help="number of shares n (default 5)")
    init.add_argument("--threshold", type=int, default=3, help="shares needed to unseal k (default 3)")
    init.add_argument("--share-dir", type=Path, help="write each share to its own 0600 file here instead of printing")
    init.set_defaults(func=cmd_init)

    unseal = sub.add_parser("unseal", help="give a sealed server one unseal share")
    unseal.add_argument("--endpoint-url", default=DEFAULT_ENDPOINT)
    unseal.add_argument("--share-file", type=Path, help="read the share from this file (default: prompt / stdin)")
    unseal.set_defaults(func=cmd_unseal)

    seal = sub.add_parser("seal", help="seal a running server (needs <data-dir>/admin.token)")
    seal.add_argument("--endpoint-url", default=DEFAULT_ENDPOINT)
    seal.add_argument("--data-dir", type=Path, default=Path(".trent"))
    seal.set_defaults(func=cmd_seal)

    status = sub.add_parser("seal-status", help="is the server sealed, and how far is unsealing")
    status.add_argument("--endpoint-url", default=DEFAULT_ENDPOINT)
    status.set_defaults(func=cmd_seal_status)


# --- trent admin rewrap-root ------------------------------------------------------------


def _open_root(mode: str, *, data_dir: Path, root_key_file: Path | None, hsm_root: str | None,
               pin_file: Path | None, share_files: list[Path], create: bool):
    from trent.keystores.base import KeyStoreError
    from trent.keystores.roots import open_root
    from trent.keystores.sealed import SealedRootKey, UnsealError

    if mode == "file":
        if root_key_file is None:
            raise KeyStoreError("a file root needs its root key file")
        if not create and not root_key_file.exists():
            raise KeyStoreError(f"{root_key_file} does not exist")
    if mode == "sealed":
        root = SealedRootKey.from_data_dir(data_dir)
        for path in share_files:
            try:
                root.unseal(path.read_text())
            except UnsealError as exc:
                raise KeyStoreError(f"{path}: {exc}") from None
        if root.sealed:
            raise KeyStoreError(f"the sealed root in {data_dir} needs {root.status().threshold} shares (--share-file)")
        return root
    return open_root(mode, data_dir, root_key_file or data_dir / "root.key", hsm_root, pin_file)


def cmd_rewrap_root(args: argparse.Namespace) -> int:
    from trent.cli.main import _settings
    from trent.keystores.base import KeyStoreError
    from trent.keystores.sealed import SEAL_FILE
    from trent.service.root_rewrap import rewrap_root
    from trent.storage.sql import SqlStorage, migrate

    settings = _settings(args)
    data_dir = settings.data_dir
    try:
        old = _open_root(
            settings.root_mode, data_dir=data_dir,
            root_key_file=settings.root_key_file or (data_dir / "root.key" if settings.dev else None),
            hsm_root=settings.hsm_root, pin_file=settings.hsm_root_pin_file,
            share_files=args.share_file or [], create=False,
        )
        new = _open_root(
            args.to, data_dir=args.to_seal_dir or data_dir, root_key_file=args.to_root_key_file,
            hsm_root=args.to_hsm_root, pin_file=args.to_hsm_root_pin_file,
            share_files=args.to_share_file or [], create=True,
        )
        url = settings.effective_database_url
        migrate(url)
        storage = SqlStorage(url)
        try:
            report = rewrap_root(storage, old, new)
        finally:
            storage.close()
    except KeyStoreError as exc:
        print(f"trent: rewrap-root: {exc}", file=sys.stderr)
        return 2
    # Only after the database moved: the new seal file replaces the old one, atomically.
    # Interrupted between the two? Run the same command again: rows already moved are kept.
    if args.to == "sealed" and args.to_seal_dir is not None and args.to_seal_dir.resolve() != data_dir.resolve():
        tmp = data_dir / (SEAL_FILE + ".new")
        tmp.write_bytes((args.to_seal_dir / SEAL_FILE).read_bytes())
        os.chmod(tmp, 0o600)
        os.replace(tmp, data_dir / SEAL_FILE)
    print(json.dumps({"rewrapped": report.rewrapped, "alreadyMoved": report.already_moved, "skipped": report.skipped}))
    flags = {"file": f"--root file --root-key-file {args.to_root_key_file}", "sealed": "--root sealed",
             "hsm": f"--root hsm --hsm-root {args.to_hsm_root} --hsm-root-pin-file ..."}[args.to]
    print(f"Done. Start the server with: {flags}", file=sys.stderr)
    return 0


def register_admin(admin_sub: argparse._SubParsersAction) -> None:
    p = admin_sub.add_parser(
        "rewrap-root",
        help="re-wrap all key material and secrets under another root of trust (stop the server first; "
        "one transaction: safe to interrupt and re-run)",
    )
    p.add_argument("--root", dest="root_mode", choices=("file", "sealed", "hsm"), help="the current root (as for serve)")
    p.add_argument("--hsm-root", metavar="MODULE:token=LABEL")
    p.add_argument("--hsm-root-pin-file", type=Path)
    p.add_argument("--share-file", type=Path, action="append", help="current sealed root: one share per flag (k of them)")
    p.add_argument("--to", required=True, choices=("file", "sealed", "hsm"), help="the new root")
    p.add_argument("--to-root-key-file", type=Path, help="--to file: the new root key file (created 0600)")
    p.add_argument("--to-seal-dir", type=Path, help="--to sealed: where `trent init` wrote the new root.sealed")
    p.add_argument("--to-share-file", type=Path, action="append", help="--to sealed: k shares of the new root")
    p.add_argument("--to-hsm-root", metavar="MODULE:token=LABEL")
    p.add_argument("--to-hsm-root-pin-file", type=Path)
    p.set_defaults(func=cmd_rewrap_root)
