"""``trent s3 cp`` / ``trent s3 ls``: client-side encrypted copies to and from S3.

Objects are written in the Amazon S3 Encryption Client's formats (client-wire-formats.md
§4.2; v3 by default, ``--format v2`` on request) and read in v2 and v3 (v1 with ``--legacy``),
so Amazon's clients in every language read what this writes, and the other way round.

    trent s3 cp big.iso s3://bucket/isos/ --kms-key-id alias/backups -c team=ops
    trent s3 cp s3://bucket/isos/big.iso . -c team=ops
    trent s3 cp ./photos s3://bucket/photos --recursive --kms-key-id alias/backups
    trent s3 ls s3://bucket/photos/ --recursive

Endpoints and credentials are found as the AWS CLI finds them: ``--endpoint-url`` (S3, and
KMS unless ``--kms-endpoint-url`` or AWS_ENDPOINT_URL_KMS says otherwise), ``--region``,
``--profile``, and botocore's AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_KMS.

A download is written to an unnamed file in the target directory and linked in only after
the whole object verified: a tampered object, a wrong key or context leaves nothing behind.
A failed upload aborts its multipart upload. Exit codes: 0 ok, 1 a file failed, 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trent import s3ec
from trent.cli.envelope import UsageError
from trent.cli.envelope import _context as parse_context  # K=V pairs, the same rules as trent encrypt

_PROGRESS_MIN_BYTES = 8 << 20


@dataclass(frozen=True)
class S3Url:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_url(text: str) -> S3Url | None:
    if not text.startswith("s3://"):
        return None
    bucket, _, key = text[5:].partition("/")
    if not bucket:
        raise UsageError(f"{text}: no bucket")
    return S3Url(bucket, key)


def register(subparsers: Any) -> None:
    s3 = subparsers.add_parser("s3", help="client-side encrypted S3 copies (Amazon S3 Encryption Client formats)",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = s3.add_subparsers(dest="s3_command", required=True)
    cp = sub.add_parser("cp", help="encrypt a file into S3, or decrypt an object into a file")
    cp.add_argument("source", help="local path or s3://bucket/key")
    cp.add_argument("destination", help="local path or s3://bucket/key (a trailing / or a directory keeps the name)")
    cp.add_argument("-r", "--recursive", action="store_true", help="copy a directory / a key prefix")
    cp.add_argument("--kms-key-id", help="KMS key (id, ARN or alias); required to upload, optional to download")
    cp.add_argument("-c", "--encryption-context", action="append", default=[], metavar="K=V",
                    help="encryption context pair (must match on download); repeatable")
    cp.add_argument("--format", choices=("v2", "v3"), default="v3", help="object format to write (default v3)")
    cp.add_argument("--commitment-policy", choices=[p.value for p in s3ec.CommitmentPolicy],
                    help="default: REQUIRE_ENCRYPT_REQUIRE_DECRYPT (FORBID_ENCRYPT_ALLOW_DECRYPT with --format v2)")
    cp.add_argument("--instruction-file", action="store_true",
                    help="store the encrypted data key in <key>.instruction instead of the object's metadata")
    cp.add_argument("--legacy", action="store_true", help="read v1 / CBC / legacy-wrapped objects (unauthenticated)")
    cp.add_argument("--force", action="store_true", help="overwrite existing local files")
    cp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _connection_options(cp)
    cp.set_defaults(func=cmd_cp)
    ls = sub.add_parser("ls", help="list buckets, or the objects under s3://bucket/prefix")
    ls.add_argument("path", nargs="?", help="s3://bucket[/prefix]")
    ls.add_argument("-r", "--recursive", action="store_true", help="every key under the prefix")
    _connection_options(ls)
    ls.set_defaults(func=cmd_ls)


def _connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint-url", help="S3 endpoint (and KMS endpoint unless --kms-endpoint-url)")
    p.add_argument("--kms-endpoint-url", help="KMS endpoint, e.g. Trent's")
    p.add_argument("--region", help="AWS region (default: from the environment / profile)")
    p.add_argument("--profile", help="AWS profile for credentials")


def _clients(args: argparse.Namespace) -> tuple[Any, Any]:
    import boto3

    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    s3 = session.client("s3", endpoint_url=args.endpoint_url)
    kms_url = args.kms_endpoint_url or (None if os.environ.get("AWS_ENDPOINT_URL_KMS") else args.endpoint_url)
    return s3, session.client("kms", endpoint_url=kms_url)


def _client(args: argparse.Namespace, s3: Any, kms: Any) -> s3ec.S3EncryptionClient:
    fmt = s3ec.FormatVersion(int(args.format[1]))
    default = (s3ec.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT if fmt is s3ec.FormatVersion.V2
               else s3ec.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    policy = s3ec.CommitmentPolicy(args.commitment_policy) if args.commitment_policy else default
    config = s3ec.S3ecConfig(format=fmt, commitment_policy=policy, instruction_file=args.instruction_file,
                             enable_legacy_unauthenticated_modes=args.legacy)
    return s3ec.S3EncryptionClient(s3, s3ec.KmsKeyring(args.kms_key_id, kms), config)


@dataclass(frozen=True)
class Job:
    upload: bool
    local: Path
    remote: S3Url
    size: int | None


def _uploads(src: Path, dst: S3Url, recursive: bool) -> list[Job]:
    if src.is_dir():
        if not recursive:
            raise UsageError(f"{src} is a directory (use --recursive)")
        prefix = dst.key if not dst.key or dst.key.endswith("/") else dst.key + "/"
        files = sorted(p for p in src.rglob("*") if p.is_file())
        return [Job(True, p, S3Url(dst.bucket, prefix + p.relative_to(src).as_posix()), p.stat().st_size) for p in files]
    if not src.is_file():
        raise UsageError(f"{src}: no such file")
    key = dst.key + src.name if not dst.key or dst.key.endswith("/") else dst.key
    return [Job(True, src, S3Url(dst.bucket, key), src.stat().st_size)]


def _downloads(client: s3ec.S3EncryptionClient, src: S3Url, dst: Path, recursive: bool) -> list[Job]:
    if not recursive:
        if not src.key or src.key.endswith("/"):
            raise UsageError(f"{src} names a prefix (use --recursive)")
        target = dst / src.key.rsplit("/", 1)[-1] if dst.is_dir() or str(dst).endswith("/") else dst
        return [Job(False, target, src, None)]
    suffix = client.config.instruction_suffix
    jobs = []
    for page in client.s3.get_paginator("list_objects_v2").paginate(Bucket=src.bucket, Prefix=src.key):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith(suffix) or key.endswith("/"):
                continue
            rel = key[len(src.key):].lstrip("/") if src.key else key
            jobs.append(Job(False, dst / rel, S3Url(src.bucket, key), int(obj["Size"])))
    return jobs


def _explain(e: BaseException) -> str:
    if isinstance(e, s3ec.DecryptionFailed):
        return ("cannot decrypt: the object, its metadata or its instruction file was tampered with, "
                "or the key is wrong")
    if isinstance(e, OSError):
        return str(e.strerror or e)
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".rstrip(": ")
    if isinstance(e, BotoCoreError):
        return str(e)
    return str(e)


@contextmanager
def _progress(show: bool, total: int) -> Iterator[Callable[[str, int | None], Callable[[int], None] | None]]:
    if not show:
        yield lambda name, size: None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn(), transient=False)
    bar.start()

    def task(name: str, size: int | None) -> Callable[[int], None]:
        t = bar.add_task(name, total=size)
        return lambda n: bar.advance(t, n)

    try:
        yield task
    finally:
        bar.stop()


def cmd_cp(args: argparse.Namespace) -> int:
    try:
        src_url, dst_url = parse_s3_url(args.source), parse_s3_url(args.destination)
        if (src_url is None) == (dst_url is None):
            raise UsageError("copy between a local path and s3://bucket/key (one of each)")
        ctx = parse_context(args.encryption_context)
        if dst_url is not None and not args.kms_key_id:
            raise UsageError("uploading needs --kms-key-id")
        s3, kms = _clients(args)
        client = _client(args, s3, kms)
        if dst_url is not None:
            jobs = _uploads(Path(args.source), dst_url, args.recursive)
        else:
            assert src_url is not None
            jobs = _downloads(client, src_url, Path(args.destination), args.recursive)
    except (UsageError, s3ec.ConfigurationError) as e:
        print(f"trent s3 cp: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # no region, a bad profile, a missing bucket: botocore says which
        if not _is_aws_error(e):
            raise
        print(f"trent s3 cp: {_explain(e)}", file=sys.stderr)
        return 1
    show = not args.quiet and sys.stderr.isatty()
    failures = 0
    with _progress(show, 0) as task:
        for job in jobs:
            label = f"{job.local} -> {job.remote}" if job.upload else f"{job.remote} -> {job.local}"
            try:
                if job.upload:
                    advance = task(job.local.name, job.size) if (job.size or 0) >= _PROGRESS_MIN_BYTES else None
                    client.upload_file(job.local, job.remote.bucket, job.remote.key, encryption_context=ctx,
                                       progress=advance)
                else:
                    job.local.parent.mkdir(parents=True, exist_ok=True)
                    size = job.size
                    if show and size is None:  # one HEAD for the bar's total (plaintext length)
                        size = client.head_object(job.remote.bucket, job.remote.key).plaintext_length
                    advance = task(job.remote.key, size) if (size or _PROGRESS_MIN_BYTES) >= _PROGRESS_MIN_BYTES else None
                    client.download_file(job.remote.bucket, job.remote.key, job.local, encryption_context=ctx,
                                         overwrite=args.force, progress=advance)
                if not show and not args.quiet and sys.stdout.isatty():
                    print(f"{'upload' if job.upload else 'download'}: {label}")
            except FileExistsError:
                failures += 1
                print(f"trent s3 cp: {job.local} exists (use --force to overwrite)", file=sys.stderr)
            except Exception as e:  # one failing file does not stop the others
                if not isinstance(e, (s3ec.EnvelopeError, OSError)) and not _is_aws_error(e):
                    raise
                failures += 1
                where = job.remote if not job.upload else job.local
                print(f"trent s3 cp: {where}: {_explain(e)}", file=sys.stderr)
    return 1 if failures else 0


def _is_aws_error(e: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(e, (BotoCoreError, ClientError))


def cmd_ls(args: argparse.Namespace) -> int:
    try:
        url = parse_s3_url(args.path) if args.path else None
        if args.path and url is None:
            raise UsageError(f"{args.path}: expected s3://bucket[/prefix]")
    except UsageError as e:
        print(f"trent s3 ls: {e}", file=sys.stderr)
        return 2
    try:
        s3, _ = _clients(args)
        if url is None:
            for b in s3.list_buckets().get("Buckets", []):
                print(f"{b['CreationDate']:%Y-%m-%d %H:%M:%S} {b['Name']}")
            return 0
        kw: dict[str, Any] = {"Bucket": url.bucket, "Prefix": url.key}
        # like `aws s3 ls`: names relative to the prefix's "directory", full keys with --recursive
        base = "" if args.recursive else url.key[:url.key.rfind("/") + 1]
        if not args.recursive:
            kw["Delimiter"] = "/"
        for page in s3.get_paginator("list_objects_v2").paginate(**kw):
            for p in page.get("CommonPrefixes", []):
                print(f"{'PRE':>30} {p['Prefix'][len(base):]}")
            for o in page.get("Contents", []):
                print(f"{o['LastModified']:%Y-%m-%d %H:%M:%S} {o['Size']:>10} {o['Key'][len(base):]}")
    except Exception as e:
        if not _is_aws_error(e):
            raise
        print(f"trent s3 ls: {_explain(e)}", file=sys.stderr)
        return 1
    return 0
