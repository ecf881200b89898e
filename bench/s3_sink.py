"""A minimal S3 server that can absorb (and serve) gigabytes per second, for the S3EC benchmark.

    python bench/s3_sink.py --port 9000 --dir /dev/shm/s3sink

moto's S3 takes ~40 MB/s on a multipart upload here (it hashes and copies every part, and
concatenates them at completion), so it cannot show what a client does. This server speaks
just what PutObject / multipart / GetObject (with Range) / HeadObject / DeleteObject /
CreateBucket need, keeps user metadata (``x-amz-meta-*``), stores bodies as files (parts stay
separate files, listed by a manifest, so completion costs nothing) and answers GETs with
``sendfile``. It checks no signature and no checksum: a benchmark sink, not an S3.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 1 << 20


def _write_all(fd: int, view: memoryview) -> None:
    while len(view):
        view = view[os.write(fd, view):]


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def obj(self, bucket: str, key: str) -> Path:
        return self.root / bucket / "objects" / urllib.parse.quote(key, safe="")

    def upload(self, upload_id: str) -> Path:
        return self.root / "uploads" / upload_id


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: Store

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _target(self) -> tuple[str, str, dict[str, list[str]]]:
        u = urllib.parse.urlsplit(self.path)
        parts = urllib.parse.unquote(u.path).lstrip("/").split("/", 1)
        return parts[0], parts[1] if len(parts) > 1 else "", urllib.parse.parse_qs(u.query, keep_blank_values=True)

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _receive(self, path: Path) -> None:
        # Body bytes the header parser already buffered come first; the rest is read from the
        # socket with MSG_WAITALL, 1 MiB per recv_into: a plain readinto returns whatever one
        # segment brought (16-256 KiB), and at gigabytes per second the syscalls per segment
        # were this server's limit (2.6 s of CPU per GiB against a client sending 16 KiB blocks).
        n = int(self.headers.get("Content-Length", "0"))
        buf = memoryview(bytearray(min(CHUNK, max(n, 1))))
        with open(path, "wb", buffering=0) as f:
            pending = min(n, len(self.rfile.peek(0)) if n else 0)
            if pending:
                got = self.rfile.readinto(buf[:pending])
                _write_all(f.fileno(), buf[:got])
                n -= got
            while n:
                got = self.connection.recv_into(buf, min(len(buf), n), socket.MSG_WAITALL)
                if not got:
                    raise ConnectionError("short body")
                _write_all(f.fileno(), buf[:got])
                n -= got

    def _meta(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-amz-meta-")}

    def do_PUT(self) -> None:
        bucket, key, q = self._target()
        if not key:
            (self.store.root / bucket / "objects").mkdir(parents=True, exist_ok=True)
            return self._reply(200)
        etag = f'"{secrets.token_hex(16)}"'
        if "uploadId" in q:
            part = self.store.upload(q["uploadId"][0]) / f"{int(q['partNumber'][0]):05d}"
            self._receive(part)
            return self._reply(200, headers={"ETag": etag})
        path = self.store.obj(bucket, key)
        self._receive(path.parent / (path.name + ".part0"))
        (path.parent / (path.name + ".meta")).write_text(json.dumps({"meta": self._meta(), "parts": [path.name + ".part0"]}))
        self._reply(200, headers={"ETag": etag})

    def do_POST(self) -> None:
        bucket, key, q = self._target()
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        path = self.store.obj(bucket, key)
        if "uploads" in q:
            upload_id = secrets.token_hex(12)
            d = self.store.upload(upload_id)
            d.mkdir(parents=True)
            (d / "meta.json").write_text(json.dumps(self._meta()))
            xml = (f"<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                   f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>").encode()
            return self._reply(200, xml, {"Content-Type": "application/xml"})
        d = self.store.upload(q["uploadId"][0])
        parts = []
        for p in sorted(x for x in d.iterdir() if x.name != "meta.json"):
            dst = path.parent / f"{path.name}.part{p.name}"
            os.replace(p, dst)
            parts.append(dst.name)
        (path.parent / (path.name + ".meta")).write_text(
            json.dumps({"meta": json.loads((d / "meta.json").read_text()), "parts": parts}))
        shutil.rmtree(d)
        xml = (f"<CompleteMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
               f'<ETag>"{secrets.token_hex(16)}-{len(parts)}"</ETag></CompleteMultipartUploadResult>').encode()
        self._reply(200, xml, {"Content-Type": "application/xml"})

    def _object(self) -> tuple[Path, dict] | None:
        bucket, key, _ = self._target()
        path = self.store.obj(bucket, key)
        meta = path.parent / (path.name + ".meta")
        if not meta.exists():
            xml = b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
            self._reply(404, xml if self.command != "HEAD" else b"", {"Content-Type": "application/xml"})
            return None
        return path, json.loads(meta.read_text())

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        found = self._object()
        if found is None:
            return
        path, info = found
        files = [path.parent / p for p in info["parts"]]
        sizes = [f.stat().st_size for f in files]
        total = sum(sizes)
        first, last, status = 0, total - 1, 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            first, last, status = int(a), min(int(b), total - 1) if b else total - 1, 206
        self.send_response(status)
        for k, v in info["meta"].items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(max(0, last - first + 1)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{total}")
        self.send_header("ETag", '"0"')
        self.send_header("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.flush()
        offset = 0
        for f, size in zip(files, sizes):
            lo, hi = max(first, offset), min(last + 1, offset + size)
            if lo < hi:
                with open(f, "rb") as fh:
                    self.connection.sendfile(fh, lo - offset, hi - lo)
            offset += size

    def do_DELETE(self) -> None:
        bucket, key, q = self._target()
        if "uploadId" in q:
            shutil.rmtree(self.store.upload(q["uploadId"][0]), ignore_errors=True)
            return self._reply(204)
        path = self.store.obj(bucket, key)
        meta = path.parent / (path.name + ".meta")
        if meta.exists():
            for p in json.loads(meta.read_text())["parts"]:
                (path.parent / p).unlink(missing_ok=True)
            meta.unlink()
        self._reply(204)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", type=Path, required=True)
    args = ap.parse_args()
    Handler.store = Store(args.dir)
    (args.dir / "uploads").mkdir(parents=True, exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
