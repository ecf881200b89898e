"""Request bodies of S3's bucket-level operations under virtual-hosted addressing
(server/http11.py, ``HttpServer.streams_body``).

With ``--s3-domain`` the bucket is in the Host header, and a bucket's own requests have the
paths KMS's and STS's calls have: ``/`` and ``/?<sub-resource>`` (``POST /?delete``,
``PUT /?policy``). Their bodies must still be streamed to S3, whose own limits then apply,
as the same requests' are path-style (``POST /bucket?delete``), and not read whole under
the server's ``--max-body-bytes`` (1 MiB) and refused with 413 above it.

S3 takes a DeleteObjects of up to 1000 keys of up to 1024 bytes each: over 1 MiB of XML."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.trent_server import TrentServer, seeded_trent
from tests.wire.s3_helpers import SEED, s3_client, virtual_hosted, without_expect

BUCKET = "vhost-bodies"
S3_DOMAIN = "s3.vhost.test"  # <bucket>.s3.vhost.test resolves nowhere: virtual_hosted sends to loopback
MAX_BODY = 1 << 20  # the server's default --max-body-bytes
STYLES = ("virtual", "path")


@pytest.fixture(scope="module")
def server() -> Iterator[TrentServer]:
    with seeded_trent(SEED, prefix="trent-vhost-bodies-", extra_args=("--s3-domain", S3_DOMAIN)) as server:
        s3_client(server).create_bucket(Bucket=BUCKET)
        yield server


def _client(server: TrentServer, style: str) -> Any:
    return virtual_hosted(server, S3_DOMAIN) if style == "virtual" else s3_client(server)


def _sent_sizes(client: Any, operation: str) -> list[int]:
    """The body sizes ``client`` sends for ``operation``, as sent."""
    sizes: list[int] = []

    def record(request: Any, **_: Any) -> None:
        sizes.append(len(request.body or b""))

    client.meta.events.register(f"before-send.s3.{operation}", record)
    return sizes


@pytest.mark.parametrize("style", STYLES)
def test_a_delete_objects_of_1000_keys_of_1024_bytes_deletes_them(server: TrentServer, style: str) -> None:
    """1000 objects whose keys are 1024 bytes long (S3's limits for both), deleted by one
    DeleteObjects: its XML is over 1 MiB, and every key is Deleted (none an Error), the
    objects are gone, and one DeleteObjects event records it."""
    prefix = f"{style}-{uuid.uuid4().hex[:8]}/"
    keys = [(prefix + f"{i:04d}-").ljust(1024, "k") for i in range(1000)]
    assert {len(k.encode()) for k in keys} == {1024}
    writer = without_expect(s3_client(server))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: writer.put_object(Bucket=BUCKET, Key=key, Body=b"x"), keys))
    assert s3_client(server).list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"] == 1000
    client = _client(server, style)
    sizes = _sent_sizes(client, "DeleteObjects")
    before = len(server.audit_events())
    answer = client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": False})
    assert sizes and sizes[0] > MAX_BODY, sizes
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert not answer.get("Errors"), answer.get("Errors", [])[:3]
    assert sorted(d["Key"] for d in answer["Deleted"]) == keys
    events = [e for e in server.audit_events()[before:] if e["eventSource"] == "s3.amazonaws.com"]
    assert [(e["eventName"], e.get("errorCode")) for e in events] == [("DeleteObjects", None)], events
    assert events[0]["requestParameters"]["bucketName"] == BUCKET
    assert s3_client(server).list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"] == 0


def test_a_delete_objects_of_1001_keys_is_s3s_malformed_xml(server: TrentServer) -> None:
    """One key more than S3 takes, virtual-hosted: S3's MalformedXML (400), as S3 answers it,
    not the door's 413; nothing deleted."""
    kept = f"kept-{uuid.uuid4().hex[:8]}"
    s3_client(server).put_object(Bucket=BUCKET, Key=kept, Body=b"kept")
    keys = [kept] + [f"{i:04d}-".ljust(1024, "k") for i in range(1000)]
    with pytest.raises(ClientError) as refused:
        virtual_hosted(server, S3_DOMAIN).delete_objects(
            Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
    answer = refused.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert answer["Error"]["Code"] == "MalformedXML", answer["Error"]
    assert s3_client(server).get_object(Bucket=BUCKET, Key=kept)["Body"].read() == b"kept"


def _policy_refusal(client: Any) -> tuple[int, str]:
    policy = '{"Version": "2012-10-17", "Statement": [], "Pad": "' + "x" * MAX_BODY + '"}'
    with pytest.raises(ClientError) as refused:
        client.put_bucket_policy(Bucket=BUCKET, Policy=policy)
    answer = refused.value.response
    return answer["ResponseMetadata"]["HTTPStatusCode"], answer["Error"]["Code"]


def test_a_put_bucket_policy_over_the_body_limit_gets_the_same_answer_either_style(server: TrentServer) -> None:
    """``PUT /?policy`` with a body over 1 MiB, virtual-hosted: S3's own answer for a
    policy over its limit (a 400), the one the same request gets path-style; not the
    door's 413."""
    virtual = _policy_refusal(virtual_hosted(server, S3_DOMAIN))
    assert virtual == _policy_refusal(s3_client(server))
    assert virtual[0] == 400, virtual


def test_an_anonymous_virtual_hosted_delete_objects_is_answered_by_s3(server: TrentServer) -> None:
    """Unsigned, a bucket's ``POST /?delete`` has the path of KMS's calls; it is S3's
    (protocol/router.py): S3's XML AccessDenied and an S3 event, not KMS's JSON."""
    from botocore import UNSIGNED

    anonymous = virtual_hosted(server, S3_DOMAIN, signature_version=UNSIGNED)
    key = f"anon-{uuid.uuid4().hex[:8]}"
    s3_client(server).put_object(Bucket=BUCKET, Key=key, Body=b"kept")
    with pytest.raises(ClientError) as refused:
        anonymous.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": key}]})
    response = refused.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/xml"
    assert s3_client(server).get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"kept"
    events = [e for e in server.audit_events() if e.get("eventName") == "DeleteObjects"
              and e.get("eventSource") == "s3.amazonaws.com" and e.get("errorCode") == "AccessDenied"]
    assert events, "the refusal is recorded as an S3 DeleteObjects event"
