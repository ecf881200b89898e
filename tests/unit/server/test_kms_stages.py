"""server/http11.py serves the KMS calls read in one loop tick stage by stage: one call
whose preparation fails unexpectedly (a bug, not an AWS error) is answered with
KMSInternalException and logged, and the other calls of the same tick are answered as
if it were not there. In process (``in_process.py``). The calls of one tick come from
several connections, one each: the calls of ONE connection are POSTs, which run one after
the other (server/pipeline_order.py), so they never share a tick."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path

from .in_process import exchange, one_tick
from .signed_requests import signed_kms


def test_one_call_failing_unexpectedly_in_preparation_spares_the_rest_of_its_tick(tmp_path: Path, caplog) -> None:
    from trent.bootstrap import build
    from trent.cli.main import _settings, build_parser

    async def scenario() -> list[tuple[int, bytes]]:
        settings = _settings(build_parser().parse_args(["serve", "--dev", "--data-dir", str(tmp_path)])).validate()
        runtime = build(settings)
        await runtime.start()
        http = runtime.http
        try:
            created = await exchange(http, signed_kms("CreateKey", {}), 1)
            key_id = json.loads(created[0][1])["KeyMetadata"]["KeyId"]
            real_prepare = http.pipeline.prepare

            def prepare(method, path, query, headers, body, *args, **kwargs):  # type: ignore[no-untyped-def]
                if b"boom" in body:
                    raise RuntimeError("a bug in preparation")
                return real_prepare(method, path, query, headers, body, *args, **kwargs)

            http.pipeline.prepare = prepare
            plaintext = base64.b64encode(b"kept").decode()
            ticks = []
            real_serve = http._serve_kms_tick

            def serve_tick() -> None:
                ticks.append(len(http._tick_calls))
                real_serve()

            http._serve_kms_tick = serve_tick
            answers = await one_tick(http, [
                signed_kms("Encrypt", {"KeyId": key_id, "Plaintext": plaintext}),
                signed_kms("Encrypt", {"KeyId": key_id, "Plaintext": plaintext, "Note": "boom"}),
                signed_kms("GenerateRandom", {"NumberOfBytes": 5}),
                signed_kms("Encrypt", {"KeyId": key_id, "Plaintext": plaintext}),
            ])
            http._serve_kms_tick = real_serve
            assert ticks == [4]  # the four calls shared one tick
            http.pipeline.prepare = real_prepare
            for status, body in (answers[0], answers[3]):
                assert status == 200
                blob = json.loads(body)["CiphertextBlob"]
                decrypted = await exchange(http, signed_kms("Decrypt", {"CiphertextBlob": blob}), 1)
                assert base64.b64decode(json.loads(decrypted[0][1])["Plaintext"]) == b"kept"
            return answers
        finally:
            await http.drain(10)
            await runtime.stop()

    with caplog.at_level(logging.ERROR, logger="trent.server"):
        raw = asyncio.run(scenario())
    answers = [(status, json.loads(body)) for status, body in raw]
    assert [status for status, _ in answers] == [200, 500, 200, 200]
    assert answers[1][1]["__type"] == "KMSInternalException" and "bug" not in json.dumps(answers[1][1])
    assert len(base64.b64decode(answers[2][1]["Plaintext"])) == 5
    assert "a KMS request could not be prepared" in caplog.text
    assert "a bug in preparation" in caplog.text
