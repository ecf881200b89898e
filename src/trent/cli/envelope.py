"""``trent encrypt`` / ``trent decrypt``: files, directories and stdin/stdout, via any KMS.

Messages are AWS Encryption SDK messages (client-wire-formats.md §4.1), readable by the SDK
and its CLI. Data keys come from KMS through boto3 (``--endpoint-url`` for Trent).

Output safety: a file is written to a temporary name in the destination directory and
renamed into place only after the whole message (signature included) verified; on any
failure the temporary file is truncated and removed, so no partial plaintext is ever left
behind. Files are read ahead and written behind on helper threads, bypassing the page cache
with O_DIRECT where the file system allows (trent/envelope/fileio.py explains why). With
``-o -`` (stdout) plaintext is streamed frame by frame as each frame's tag verifies; for
signed suites the signature is checked at the end and a failure gives a non-zero exit code.

Exit codes: 0 success; 1 a file failed (message shown per file); 2 usage error.
"""

from __future__ import annotations

import argparse
import io
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from trent import envelope as ev
from trent.envelope.fileio import DirectReader, DirectWriter
from trent.envelope.keyrings.kms import parse_key_arn
from trent.envelope.tempout import HiddenOutput

ENCRYPTED_SUFFIX = ".encrypted"
DECRYPTED_SUFFIX = ".decrypted"
_PROGRESS_MIN_BYTES = 32 << 20


class UsageError(Exception):
    pass


@dataclass(frozen=True)
class Job:
    source: Path | None  # None = stdin
    target: Path | None  # None = stdout
    size: int | None


def register(subparsers: Any) -> None:
    for name in ("encrypt", "decrypt"):
        p = subparsers.add_parser(
            name,
            help=f"{name} files, directories or stdin with envelope encryption (AWS Encryption SDK format)",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("inputs", nargs="+", metavar="INPUT", help="file, directory (with -r) or - for stdin")
        p.add_argument("-o", "--output", required=True,
                       help="output file, directory (must exist for several inputs), or - for stdout")
        p.add_argument("-k", "--key", action="append", default=[], metavar="KEY",
                       help="KMS key id, ARN or alias (repeat for several keys; the first generates "
                            "the data key)" if name == "encrypt" else
                            "KMS key that may decrypt (id, ARN or alias; resolved to its ARN); repeatable")
        p.add_argument("-c", "--context", action="append", default=[], metavar="K=V",
                       help="encryption context pair" + (" (required to match on decrypt)" if name == "decrypt" else ""))
        p.add_argument("-r", "--recursive", action="store_true", help="process directories recursively")
        p.add_argument("--endpoint-url", help="KMS endpoint, e.g. http://localhost:8080 for Trent")
        p.add_argument("--region", help="AWS region (default: from the environment)")
        p.add_argument("--profile", help="AWS profile for credentials")
        p.add_argument("--force", action="store_true", help="overwrite existing output files")
        p.add_argument("--threads", type=int, default=1, choices=(1, 2),
                       help="2 = hash on a second core (signed suites)")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        if name == "encrypt":
            p.add_argument("--suite", default="0x0578", help="algorithm suite: 0x0578 (default, signed) or 0x0478")
            p.add_argument("--frame-length", type=int, default=4096, help="frame length in bytes (default 4096)")
            p.add_argument("--required-context-key", action="append", default=[], metavar="K",
                           help="context key authenticated but not stored (must be given to decrypt)")
            p.set_defaults(func=cmd_encrypt)
        else:
            p.add_argument("--discovery", action="store_true",
                           help="try any KMS key named in the message (instead of --key)")
            p.add_argument("--discovery-account", action="append", default=[], metavar="ACCOUNT",
                           help="with --discovery: only keys of these accounts")
            p.add_argument("--discovery-partition", default="aws", help="with --discovery-account (default aws)")
            p.add_argument("--allow-non-committing", action="store_true",
                           help="also accept messages without key commitment (legacy suites)")
            p.add_argument("--max-encrypted-data-keys", type=int, default=None)
            p.set_defaults(func=cmd_decrypt)


# --------------------------------------------------------------------------- helpers


def _context(pairs: list[str]) -> dict[str, str]:
    ctx: dict[str, str] = {}
    for pair in pairs:
        k, sep, v = pair.partition("=")
        if not sep or not k:
            raise UsageError(f"--context expects KEY=VALUE, got {pair!r}")
        ctx[k] = v
    return ctx


def _kms_factory(args: argparse.Namespace) -> ev.keyrings.kms.KmsClientFactory:
    import boto3

    session = boto3.session.Session(profile_name=args.profile) if args.profile else None
    return ev.kms_client_factory(endpoint_url=args.endpoint_url, region=args.region, session=session)


def _resolve_arn(client: Any, key: str) -> str:
    if parse_key_arn(key) is not None:
        return key
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return str(client.describe_key(KeyId=key)["KeyMetadata"]["Arn"])
    except ClientError as e:
        raise ev.KeyringError(f"cannot resolve KMS key {key!r}: {e.response['Error'].get('Code')}") from None
    except BotoCoreError as e:
        raise ev.KeyringError(f"cannot reach KMS to resolve {key!r}: {type(e).__name__}") from None


def _jobs(inputs: list[str], output: str, recursive: bool, encrypting: bool) -> list[Job]:
    to_stdout = output == "-"
    out = Path(output)
    sources: list[tuple[Path | None, Path | None]] = []  # (file, relative name under output dir)
    for raw in inputs:
        if raw == "-":
            sources.append((None, None))
            continue
        p = Path(raw)
        if p.is_dir():
            if not recursive:
                raise UsageError(f"{raw} is a directory (use -r)")
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                sources.append((f, f.relative_to(p.parent)))
        elif p.is_file():
            sources.append((p, Path(p.name)))
        else:
            raise UsageError(f"{raw}: no such file or directory")
    if sum(1 for s, _ in sources if s is None) > 1:
        raise UsageError("stdin can be given only once")
    many = len(sources) > 1 or any(Path(r).is_dir() for r in inputs if r != "-")
    if many and (to_stdout or not out.is_dir()):
        raise UsageError("with several inputs or a directory, --output must be an existing directory")
    jobs = []
    for src, rel in sources:
        size = src.stat().st_size if src is not None else None
        if to_stdout:
            target = None
        elif out.is_dir():
            name = rel or Path("stdin")
            name = name.with_name(_out_name(name.name, encrypting))
            target = out / name
        else:
            target = out
        jobs.append(Job(src, target, size))
    return jobs


def _out_name(name: str, encrypting: bool) -> str:
    if encrypting:
        return name + ENCRYPTED_SUFFIX
    if name.endswith(ENCRYPTED_SUFFIX) and len(name) > len(ENCRYPTED_SUFFIX):
        return name[: -len(ENCRYPTED_SUFFIX)]
    return name + DECRYPTED_SUFFIX


@contextmanager
def _safe_output(target: Path | None, force: bool) -> Iterator[BinaryIO]:
    """Write to a hidden file beside ``target``; publish it on success, discard it on failure."""
    if target is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if target.exists() and not force:
        raise UsageError(f"{target} exists (use --force to overwrite)")
    target.parent.mkdir(parents=True, exist_ok=True)
    # An unnamed O_TMPFILE file (envelope/tempout.py), linked in only once the whole
    # message verified: a crash, even SIGKILL, leaves no partial plaintext under any name.
    out = HiddenOutput(target)
    # write-behind with O_DIRECT (envelope/fileio.py: the page cache is the slow part here)
    writer = DirectWriter(out.fd)
    try:
        yield writer  # type: ignore[misc]
        writer.finish()
        out.publish(overwrite=force)
    except BaseException:
        writer.abort()  # zeroes the staging buffer and truncates the temporary file
        out.discard()
        raise
    finally:
        out.close()


class _Counting(io.RawIOBase):
    """Reports bytes read (for the progress bar); one call per ~1 MiB read."""

    def __init__(self, inner: BinaryIO, advance: Callable[[int], None]) -> None:
        self.inner, self.advance = inner, advance

    def readable(self) -> bool:
        return True

    def readinto(self, view: Any) -> int:
        n = self.inner.readinto(view)  # type: ignore[attr-defined]
        if n:
            self.advance(n)
        return n or 0


def _run(args: argparse.Namespace, encrypting: bool, work: Callable[[BinaryIO, BinaryIO, int | None], None]) -> int:
    try:
        jobs = _jobs(args.inputs, args.output, args.recursive, encrypting)
    except UsageError as e:
        print(f"trent {args.command}: {e}", file=sys.stderr)
        return 2
    total = sum(j.size or 0 for j in jobs)
    show = (not args.quiet and sys.stderr.isatty() and total >= _PROGRESS_MIN_BYTES)
    progress = None
    if show:
        from rich.progress import (BarColumn, DownloadColumn, Progress, TimeRemainingColumn,
                                   TransferSpeedColumn)

        progress = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                            TransferSpeedColumn(), TimeRemainingColumn(), transient=True)
        progress.start()
        task = progress.add_task(args.command, total=total)
    failures = 0
    try:
        for job in jobs:
            name = str(job.source) if job.source else "<stdin>"
            try:
                with _safe_output(job.target, args.force) as sink:
                    src_cm = _file_source(job.source) if job.source else _stdin()
                    with src_cm as src:
                        reader: BinaryIO = src
                        if progress is not None:
                            reader = _Counting(src, lambda n: progress.advance(task, n))  # type: ignore[assignment]
                        work(reader, sink, job.size)
            except UsageError as e:
                failures += 1
                print(f"trent {args.command}: {e}", file=sys.stderr)
            except ev.DecryptionFailed:
                failures += 1
                print(f"trent {args.command}: {name}: cannot decrypt: the message is corrupt or was "
                      "tampered with, no given key can decrypt it, or the encryption context does not "
                      "match", file=sys.stderr)
            except ev.EnvelopeError as e:
                failures += 1
                print(f"trent {args.command}: {name}: {e}", file=sys.stderr)
            except OSError as e:
                failures += 1
                print(f"trent {args.command}: {name}: {e.strerror or e}", file=sys.stderr)
    finally:
        if progress is not None:
            progress.stop()
    return 1 if failures else 0


@contextmanager
def _stdin() -> Iterator[BinaryIO]:
    yield sys.stdin.buffer


@contextmanager
def _file_source(path: Path) -> Iterator[BinaryIO]:
    """A regular file read ahead on a thread (page cache first, then O_DIRECT)."""
    with open(path, "rb", buffering=0) as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            yield f
            return
        with DirectReader(f.fileno()) as reader:
            yield reader  # type: ignore[misc]


# --------------------------------------------------------------------------- commands


def cmd_encrypt(args: argparse.Namespace) -> int:
    try:
        ctx = _context(args.context)
        if not args.key:
            raise UsageError("--key is required to encrypt")
        suite = ev.suites.suite_from_name(args.suite)
    except (UsageError, ev.ConfigurationError) as e:
        print(f"trent encrypt: {e}", file=sys.stderr)
        return 2
    factory = _kms_factory(args)
    keyrings = [ev.AwsKmsKeyring(k, factory(None)) for k in args.key]
    keyring: ev.Keyring = keyrings[0] if len(keyrings) == 1 else ev.MultiKeyring(keyrings[0], keyrings[1:])

    def work(src: BinaryIO, sink: BinaryIO, size: int | None) -> None:
        ev.encrypt_stream(src, sink, keyring=keyring, encryption_context=ctx, suite=suite,
                          frame_length=args.frame_length, threads=args.threads, source_length=size,
                          required_context_keys=args.required_context_key)

    return _run(args, True, work)


def cmd_decrypt(args: argparse.Namespace) -> int:
    try:
        ctx = _context(args.context)
        if bool(args.key) == bool(args.discovery):
            raise UsageError("give --key (one or more) or --discovery")
    except UsageError as e:
        print(f"trent decrypt: {e}", file=sys.stderr)
        return 2
    factory = _kms_factory(args)
    try:
        if args.discovery:
            flt = (ev.DiscoveryFilter(frozenset(args.discovery_account), args.discovery_partition)
                   if args.discovery_account else None)
            keyring: ev.Keyring = ev.AwsKmsDiscoveryKeyring(factory, discovery_filter=flt)
        else:
            rings = [ev.AwsKmsKeyring(_resolve_arn(factory(None), k), factory(None)) for k in args.key]
            keyring = rings[0] if len(rings) == 1 else ev.MultiKeyring(None, rings)
    except ev.EnvelopeError as e:
        print(f"trent decrypt: {e}", file=sys.stderr)
        return 1
    policy = (ev.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT if args.allow_non_committing
              else ev.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)

    def work(src: BinaryIO, sink: BinaryIO, size: int | None) -> None:
        ev.decrypt_stream(src, sink, keyring=keyring, encryption_context=ctx, commitment_policy=policy,
                          threads=args.threads, max_encrypted_data_keys=args.max_encrypted_data_keys)

    return _run(args, False, work)
