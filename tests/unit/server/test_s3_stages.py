"""server/http11.py serves the S3 requests it runs on the loop (``S3FrontDoor.on_loop``:
GetObject, HeadObject, a PutObject kept inline) in stages per loop tick: the signatures
of every such request read in one tick are checked first, then each request is handled.
A signature refused in the first stage, or a bug there, concludes its own call exactly
as it did when it was checked inside ``handle`` (audited, answered in S3's XML) and
spares the tick's other calls. In process (``in_process.py``): one request per
connection, all read in the same tick."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from trent.domain.audit_chain import TrailKey

from .in_process import one_tick
from .signed_requests import signed_s3


def test_a_ticks_signatures_are_checked_before_any_of_its_requests_is_handled(tmp_path: Path) -> None:
    from trent.bootstrap import build
    from trent.cli.main import _settings, build_parser

    async def scenario() -> tuple[list[tuple[int, bytes]], list[str], list[tuple[int, bytes]], list[dict]]:
        settings = _settings(build_parser().parse_args(["serve", "--dev", "--data-dir", str(tmp_path)])).validate()
        runtime = build(settings)
        await runtime.start()
        http = runtime.http
        s3 = http.s3
        try:
            assert (await one_tick(http, [signed_s3("PUT", "/staged")]))[0][0] == 200  # CreateBucket
            assert (await one_tick(http, [signed_s3("PUT", "/staged/old", b"kept")]))[0][0] == 200
            steps: list[str] = []
            real_authenticate, real_handle = s3.authenticate, s3.handle

            def authenticate(parsed, method, path, *args):  # type: ignore[no-untyped-def]
                steps.append(f"authenticate {method} {path}")
                return real_authenticate(parsed, method, path, *args)

            def handle(method, path, *args):  # type: ignore[no-untyped-def]
                steps.append(f"handle {method} {path}")
                return real_handle(method, path, *args)

            s3.authenticate, s3.handle = authenticate, handle
            answers = await one_tick(http, [
                signed_s3("PUT", "/staged/a", b"first"),
                signed_s3("PUT", "/staged/b", b"forged", secret="not-the-secret"),
                signed_s3("GET", "/staged/old"),
                signed_s3("PUT", "/staged/c", b"third"),
            ])
            s3.authenticate, s3.handle = real_authenticate, real_handle

            # a bug in the first stage: that call alone concludes with it
            real_check = http.pipeline.authenticate_s3

            def check(method, path, *args):  # type: ignore[no-untyped-def]
                if path == "/staged/oops":
                    raise RuntimeError("a bug in authentication")
                return real_check(method, path, *args)

            http.pipeline.authenticate_s3 = check
            with_bug = await one_tick(http, [
                signed_s3("PUT", "/staged/oops", b"never"),
                signed_s3("GET", "/staged/a"),
            ])
            http.pipeline.authenticate_s3 = real_check
            stored = await one_tick(http, [signed_s3("GET", f"/staged/{k}") for k in ("a", "b", "c", "oops")])
            await http.drain(10)  # every event committed
            stored_events = runtime.deps.storage.read_audit_events(
                TrailKey(runtime.settings.dev_account_id, "us-east-1"), 0, 1000)
            events = [json.loads(e.body) for e in stored_events]
            return answers, steps, with_bug + stored, [e for e in events if e["eventSource"] == "s3.amazonaws.com"]
        finally:
            await http.drain(10)
            await runtime.stop()

    answers, steps, later, events = asyncio.run(scenario())
    assert steps == ["authenticate PUT /staged/a", "authenticate PUT /staged/b", "authenticate GET /staged/old",
                     "authenticate PUT /staged/c",
                     "handle PUT /staged/a", "handle PUT /staged/b", "handle GET /staged/old", "handle PUT /staged/c"]
    assert [status for status, _ in answers] == [200, 403, 200, 200]
    assert b"<Code>SignatureDoesNotMatch</Code>" in answers[1][1]
    assert answers[2][1] == b"kept"
    (bug_status, bug_body), (get_a, body_a) = later[0], later[1]
    assert bug_status == 500 and b"<Code>InternalError</Code>" in bug_body and b"a bug in" not in bug_body
    assert (get_a, body_a) == (200, b"first")
    assert [status for status, _ in later[2:]] == [200, 404, 200, 404]  # b forged, oops failed: neither stored
    refused = [e for e in events if e.get("errorCode") == "SignatureDoesNotMatch"]
    assert len(refused) == 1 and refused[0]["eventName"] == "PutObject"
