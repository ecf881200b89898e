"""The verification helpers of bench/s3_sse_http.py (issue 17): the parts that keep the
benchmark from reporting numbers for wrong answers or a backend holding plaintext."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import s3_sse_http as bench  # noqa: E402


def test_the_scan_finds_the_marker_across_a_read_boundary(tmp_path: Path) -> None:
    blob = bytearray(b"\0" * (8 * bench.MIB + 100))
    at = 8 * bench.MIB - 5  # the marker straddles the first 8 MiB read
    blob[at:at + len(bench.MARKER)] = bench.MARKER
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "blob").write_bytes(bytes(blob))
    with pytest.raises(bench.BenchFailure, match="plaintext marker"):
        bench.scan_for_marker(tmp_path)


def test_the_scan_passes_ciphertext_and_counts_it(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"\x01" * 1000)
    (tmp_path / "b").write_bytes(bench.MARKER[:-1] + b"!")  # almost the marker is not the marker
    assert bench.scan_for_marker(tmp_path) == (2, 1000 + len(bench.MARKER))


def test_small_bodies_are_printable_and_start_with_the_marker() -> None:
    body = bench.small_body()
    assert len(body) == 1024 and body.startswith(bench.MARKER) and body.isascii() and b"\n" not in body
    assert bench.small_body() != body


def test_the_wrk_script_holds_the_exact_body_and_signed_headers() -> None:
    body = bench.small_body()
    script = bench.lua_request("PUT", "/b/k", {"x-amz-content-sha256": "abc", "Authorization": "AWS4 x"}, body)
    assert 'wrk.method = [[PUT]]' in script and "wrk.path = [[/b/k]]" in script
    assert f"wrk.body = [[{body.decode()}]]" in script
    assert "wrk.headers[ [[Authorization]] ] = [[AWS4 x]]" in script and "WRKJSON" in script


def test_every_mib_of_a_large_body_is_distinct() -> None:
    assert bench.mib_prefix(0) != bench.mib_prefix(1)
    assert len(bench.mib_prefix(0)) == len(bench.mib_prefix(10**6)) and bench.mib_prefix(7).startswith(bench.MARKER)


def test_check_answer_refuses_wrong_status_headers_and_bytes() -> None:
    mode = bench.Mode("SSE-S3", "b", {}, {}, {"x-amz-server-side-encryption": "AES256"})
    ok = {"x-amz-server-side-encryption": "AES256"}
    bench.check_answer(mode, "GET", 200, ok, b"x", b"x")
    for status, headers, data in ((500, ok, b"x"), (200, {}, b"x"), (200, ok, b"y")):
        with pytest.raises(bench.BenchFailure):
            bench.check_answer(mode, "GET", status, headers, data, b"x")


def test_localstack_is_skipped_with_a_message_when_not_installed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = bench.parse_args(["--servers", "trent,moto,localstack", "--localstack-python", str(tmp_path / "nope")])
    assert cfg.servers == ("trent", "moto")
    assert "LocalStack skipped" in capsys.readouterr().out


def test_localstack_stays_when_its_python_imports_it(tmp_path: Path) -> None:
    fake = tmp_path / "python"  # a python that has a `localstack.runtime.main` module
    pkg = tmp_path / "localstack" / "runtime"
    pkg.mkdir(parents=True)
    for d in (tmp_path / "localstack", pkg):
        (d / "__init__.py").write_text("")
    (pkg / "main.py").write_text("")
    fake.write_text(f"#!/bin/sh\nPYTHONPATH={tmp_path} exec {sys.executable} \"$@\"\n")
    fake.chmod(0o755)
    cfg = bench.parse_args(["--servers", "moto,localstack", "--localstack-python", str(fake)])
    assert cfg.servers == ("moto", "localstack") and cfg.localstack_python == str(fake)
    with pytest.raises(SystemExit):
        bench.parse_args(["--servers", "trent,minio"])
