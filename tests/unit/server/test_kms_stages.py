"""server/http11.py serves the KMS calls read in one loop tick stage by stage: one call
whose preparation fails unexpectedly (a bug, not an AWS error) is answered with
KMSInternalException and logged, and the other calls of the same tick are answered as
if it were not there. In process: a ``trent serve --dev`` runtime fed through in-memory
connections (the way ``bench/encrypt_cpu.py`` drives it). The calls of one tick come from
several connections, one each: the calls of ONE connection are POSTs, which run one after
the other (server/pipeline_order.py), so they never share a tick."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path
from typing import Any

from .signed_requests import signed_kms


class _Client(asyncio.Transport):
    """What the server writes, split into (status, JSON body) responses."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = b""
        self.responses: list[tuple[int, dict[str, Any]]] = []
        self.arrived = asyncio.Event()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data: Any) -> None:
        self.buffer += bytes(data)
        while (head_end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:head_end].decode("latin-1")
            length = int(next(line.split(":", 1)[1] for line in head.split("\r\n")
                              if line.lower().startswith("content-length:")))
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.responses.append((int(head.split(" ", 2)[1]), json.loads(self.buffer[head_end + 4:end])))
            self.buffer = self.buffer[end:]
            self.arrived.set()

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


async def _exchange(http: Any, wire: bytes, count: int) -> list[tuple[int, dict[str, Any]]]:
    client = _Client()
    protocol = http.protocol_factory()
    protocol.connection_made(client)
    protocol.data_received(wire)
    while len(client.responses) < count:
        client.arrived.clear()
        await asyncio.wait_for(client.arrived.wait(), 20)
    protocol.connection_lost(None)
    return client.responses


async def _one_tick(http: Any, wires: list[bytes]) -> list[tuple[int, dict[str, Any]]]:
    """One call per connection, all read in the same loop tick; the answer of each."""
    pairs = []
    for wire in wires:
        client, protocol = _Client(), http.protocol_factory()
        protocol.connection_made(client)
        pairs.append((client, protocol))
    for (_, protocol), wire in zip(pairs, wires):
        protocol.data_received(wire)  # no await in between: one tick
    answers = []
    for client, protocol in pairs:
        if not client.responses:
            await asyncio.wait_for(client.arrived.wait(), 20)
        protocol.connection_lost(None)
        answers.append(client.responses[0])
    return answers


def test_one_call_failing_unexpectedly_in_preparation_spares_the_rest_of_its_tick(tmp_path: Path, caplog) -> None:
    from trent.bootstrap import build
    from trent.cli.main import _settings, build_parser

    async def scenario() -> list[tuple[int, dict[str, Any]]]:
        settings = _settings(build_parser().parse_args(["serve", "--dev", "--data-dir", str(tmp_path)])).validate()
        runtime = build(settings)
        await runtime.start()
        http = runtime.http
        try:
            created = await _exchange(http, signed_kms("CreateKey", {}), 1)
            key_id = created[0][1]["KeyMetadata"]["KeyId"]
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
            answers = await _one_tick(http, [
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
                decrypted = await _exchange(http, signed_kms("Decrypt", {"CiphertextBlob": body["CiphertextBlob"]}), 1)
                assert base64.b64decode(decrypted[0][1]["Plaintext"]) == b"kept"
            return answers
        finally:
            await http.drain(10)
            await runtime.stop()

    with caplog.at_level(logging.ERROR, logger="trent.server"):
        answers = asyncio.run(scenario())
    assert [status for status, _ in answers] == [200, 500, 200, 200]
    assert answers[1][1]["__type"] == "KMSInternalException" and "bug" not in json.dumps(answers[1][1])
    assert len(base64.b64decode(answers[2][1]["Plaintext"])) == 5
    assert "a KMS request could not be prepared" in caplog.text
    assert "a bug in preparation" in caplog.text
