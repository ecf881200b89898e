"""The trail's formats, step by step (issue 16; spec cloudtrail.md §1-§2): keys, bodies,
the string to sign, deterministic gzip, both ways of reading a log file, the tokens."""

from __future__ import annotations

import gzip
import hashlib
import json

import orjson
import pytest

from trent.audit import checks, digests, logfiles
from trent.domain.audit_chain import GENESIS_HASH, StoredEvent, chain_hash, chain_over, tokens_of_event
from trent.domain.audit_delivery import DeliveryState, DigestRecord, LogFileRecord

T = 1_767_267_781.0  # 2026-01-01T11:43:01Z


def events(n: int) -> list[StoredEvent]:
    tip, out = GENESIS_HASH, []
    for i in range(1, n + 1):
        body = orjson.dumps({"eventID": f"e{i}", "eventName": "Encrypt", "note": "line\nbreak é"})
        tip = chain_hash(tip, body)
        out.append(StoredEvent("123456789012", "us-east-1", i, T, tip, body))
    return out


def test_log_file_key_layout() -> None:
    key = logfiles.log_file_key(None, "123456789012", "eu-west-1", T, "AbCdEfGh01234567")
    assert key == ("AWSLogs/123456789012/CloudTrail/eu-west-1/2026/01/01/"
                   "123456789012_CloudTrail_eu-west-1_20260101T1143Z_AbCdEfGh01234567.json.gz")
    assert logfiles.log_file_key("p/q", "1", "r", T, "u").startswith("p/q/AWSLogs/1/CloudTrail/r/")
    assert checks.classify(key, None) is not None and checks.classify(key, "p") is None
    assert len(logfiles.unique_string(bytes(range(16)))) == 16


def test_digest_key_layout_and_the_validators_timestamp() -> None:
    key = digests.digest_key(None, "123456789012", "us-east-1", "trent", "us-east-1", T)
    assert key == ("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/01/"
                   "123456789012_CloudTrail-Digest_us-east-1_trent_us-east-1_20260101T114301Z.json.gz")
    assert digests.key_timestamp(key) == "20260101T114301Z" == key[-24:-8]  # validation.py's slice
    info = checks.classify(key, None)
    assert info is not None and (info.kind, info.trail) == ("digest", "trent")


def test_string_to_sign_matches_the_validators() -> None:
    assert digests.string_to_sign("2026-01-01T11:43:01Z", "b", "k", "ab", None) == b"2026-01-01T11:43:01Z\nb/k\nab\nnull"
    assert digests.string_to_sign("t", "b", "k", "ab", "cafe").endswith(b"\ncafe")


def test_log_file_body_chain_and_both_readers() -> None:
    evs = events(5)
    body = logfiles.build(evs, "arn:aws:cloudtrail:us-east-1:123456789012:trail/trent", GENESIS_HASH)
    document = json.loads(body)  # valid JSON for any CloudTrail reader
    assert [r["eventID"] for r in document["Records"]] == ["e1", "e2", "e3", "e4", "e5"]
    assert document["trentChain"]["lastHash"] == evs[-1].chain_hash.hex()
    fast = logfiles.parse(body)
    assert fast.records == [e.body for e in evs] and fast.chain is not None
    slow = logfiles.parse(json.dumps(document).encode())  # reformatted: parsed, re-serialized
    assert slow.records == fast.records and slow.chain == fast.chain
    assert checks.file_chain_problems(fast) == []
    swapped = body.replace(evs[1].body, b"@").replace(evs[2].body, evs[1].body).replace(b"@", evs[2].body)
    assert checks.file_chain_problems(logfiles.parse(swapped))  # reordered records: the chain breaks
    assert chain_over(GENESIS_HASH, fast.records) == evs[-1].chain_hash


def test_gzip_is_deterministic_and_strict() -> None:
    body = b'{"Records":[]}'
    assert logfiles.compress(body) == logfiles.compress(body)
    assert logfiles.decompress(logfiles.compress(body)) == body
    with pytest.raises(ValueError, match="truncated"):
        logfiles.decompress(logfiles.compress(body * 100)[:-9])
    with pytest.raises(ValueError, match="after the end"):
        logfiles.decompress(logfiles.compress(body) + b"x")
    assert gzip.decompress(logfiles.compress(body)) == body


def test_digest_body_members_in_cloudtrails_order() -> None:
    log = LogFileRecord("123456789012", "us-east-1", "b", "k1", 1, 5, "ab" * 32, T - 60, T, T, DeliveryState.DELIVERED)
    previous = DigestRecord("123456789012", "us-east-1", 1, "b", "d0", T - 3600, T - 60, b"{}", "cd" * 32, "ef", "f" * 32)
    body = json.loads(digests.build(digests.DigestContent("123456789012", "b", "d1", T - 60, T, "f" * 32, [log],
                                                          previous, 5, b"\x01" * 32)))
    assert list(body)[:15] == [
        "awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
        "digestPublicKeyFingerprint", "digestSignatureAlgorithm", "newestEventTime", "oldestEventTime",
        "previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue",
        "previousDigestHashAlgorithm", "previousDigestSignature", "logFiles",
    ]
    assert body["digestSignatureAlgorithm"] == "SHA256withRSA" and body["previousDigestSignature"] == "ef"
    assert body["logFiles"][0] == {"s3Bucket": "b", "s3Object": "k1", "hashValue": "ab" * 32,
                                   "hashAlgorithm": "SHA-256", "newestEventTime": "2026-01-01T11:43:01Z",
                                   "oldestEventTime": "2026-01-01T11:42:01Z"}
    first = json.loads(digests.build(digests.DigestContent("1", "b", "d", T, T, "f", [], None, 0, GENESIS_HASH)))
    assert first["previousDigestSignature"] is None and first["logFiles"] == [] and first["newestEventTime"] is None
    assert hashlib.sha256(b"").hexdigest()  # (hashValue is hex SHA-256 of the uncompressed file)


def test_tokens_of_an_event() -> None:
    event = {"eventID": "id-1", "eventName": "ReEncrypt", "readOnly": True, "eventSource": "kms.amazonaws.com",
             "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/app/ci-run",
                              "accessKeyId": "ASIA1"},
             "resources": [{"type": "AWS::KMS::Key", "ARN": "arn:k1"}, {"type": "AWS::KMS::Key", "ARN": "arn:k2"}]}
    assert set(tokens_of_event(event)) == {
        "i:id-1", "n:ReEncrypt", "o:true", "s:kms.amazonaws.com", "u:ci-run", "k:ASIA1",
        "t:AWS::KMS::Key", "r:arn:k1", "r:arn:k2",
    }
    assert "n:a?b" in tokens_of_event({"eventName": "a\x1fb"})  # the separator never leaks into a token
    root = tokens_of_event({"userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}})
    assert "u:root" in root
    # a data event (an S3 object call) is never looked up: it carries no token at all
    assert tokens_of_event({**event, "eventCategory": "Data", "managementEvent": False}) == ()
    assert tokens_of_event({**event, "eventCategory": "Management"})


def test_split_reader_declines_what_is_not_trents_layout() -> None:
    """The C-level split takes only Trent's one-record-per-line form; a newline that is not a
    record separator (a hand-reformatted record) sends the file to the parser, which still
    recovers each record's canonical bytes."""
    evs = events(4)
    body = logfiles.build(evs, "arn:aws:cloudtrail:us-east-1:123456789012:trail/trent", GENESIS_HASH)
    fast = logfiles.parse(body)
    assert fast.event_ids == [] and len(fast.records) == 4  # split, not parsed
    reformatted = body.replace(evs[2].body, evs[2].body.replace(b'{"eventID"', b'{\n  "eventID"'))
    slow = logfiles.parse(reformatted)
    assert slow.event_ids == ["e1", "e2", "e3", "e4"]  # parsed
    assert slow.records == fast.records and slow.chain == fast.chain
    assert checks.file_chain_problems(slow) == []
    no_tail = body[: body.rfind(b"\n],")]
    with pytest.raises(ValueError):
        logfiles.parse(no_tail)
