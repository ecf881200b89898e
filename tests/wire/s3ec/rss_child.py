"""Child process for test_bounded_memory (and bench/s3ec_throughput.py --rss): upload the file
``workdir/plain`` (made by :func:`generate`, in the parent), download it to ``workdir/out``;
print the peak RSS, the RSS once the clients exist, and the download's SHA-256 as JSON."""

from __future__ import annotations

import hashlib
import json
import os
import sys

# Measure the client as `pip install trent` installs it. The test extras add the AWS common
# runtime (boto3 needs it to send CRC32C/CRC64NVME checksums in the S3 tests), and botocore
# imports it into every process where it is installed (+7 MiB) whether anything uses it or
# not; Trent does not depend on it (trent/crypto/checksums.py says why).
# Only in the child: the test module imports this file for generate().
if __name__ == "__main__":
    sys.modules["awscrt"] = None  # type: ignore[assignment]

import boto3  # noqa: E402

from trent.s3ec import KmsKeyring, S3EncryptionClient  # noqa: E402


def generate(path: str, size: int) -> str:
    """``size`` bytes, each MiB different (a counter in front of one random block)."""
    sha, block = hashlib.sha256(), os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i, start in enumerate(range(0, size, len(block))):
            chunk = (i.to_bytes(8, "big") + block[8:])[:size - start]
            sha.update(chunk)
            f.write(chunk)
    return sha.hexdigest()


def sha256_of(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()  # one 256 KiB buffer


def peak_rss() -> int:
    """VmHWM: this process's own peak. (ru_maxrss is not: Linux carries the forking parent's
    high-water mark into it across exec, so it reports pytest's RSS.)"""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    s3_url, kms_url, key_arn, bucket, size, workdir = sys.argv[1:7]
    src, out = os.path.join(workdir, "plain"), os.path.join(workdir, "out")
    assert os.path.getsize(src) == int(size)
    s3 = boto3.client("s3", endpoint_url=s3_url)
    kms = boto3.client("kms", endpoint_url=kms_url)
    client = S3EncryptionClient(s3, KmsKeyring(key_arn, kms))
    baseline = rss_now()
    client.upload_file(src, bucket, "big")
    os.unlink(src)
    client.download_file(bucket, "big", out)
    download_sha = sha256_of(out)
    os.unlink(out)
    peak = peak_rss()
    print(json.dumps({"peak_rss": peak, "rss_with_clients": baseline, "download_sha256": download_sha}))


if __name__ == "__main__":
    main()
