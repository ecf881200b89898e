"""Driving a ``trent serve --dev`` runtime's HTTP front door in process, through in-memory
connections (the way ``bench/encrypt_cpu.py`` drives it): for the tests of what the
server does with the requests read in one loop tick."""

from __future__ import annotations

import asyncio
from typing import Any


class InMemoryClient(asyncio.Transport):
    """What the server writes, split into (status, body) responses."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = b""
        self.responses: list[tuple[int, bytes]] = []
        self.arrived = asyncio.Event()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data: Any) -> None:
        self.buffer += bytes(data)
        while (head_end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:head_end].decode("latin-1")
            length = int(next((line.split(":", 1)[1] for line in head.split("\r\n")
                               if line.lower().startswith("content-length:")), "0"))
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.responses.append((int(head.split(" ", 2)[1]), self.buffer[head_end + 4:end]))
            self.buffer = self.buffer[end:]
            self.arrived.set()

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


async def exchange(http: Any, wire: bytes, count: int) -> list[tuple[int, bytes]]:
    """``wire`` (one or more requests) on one connection; its first ``count`` answers."""
    client = InMemoryClient()
    protocol = http.protocol_factory()
    protocol.connection_made(client)
    protocol.data_received(wire)
    while len(client.responses) < count:
        client.arrived.clear()
        await asyncio.wait_for(client.arrived.wait(), 20)
    protocol.connection_lost(None)
    return client.responses


async def one_tick(http: Any, wires: list[bytes]) -> list[tuple[int, bytes]]:
    """One request per connection, all read in the same loop tick; the answer of each."""
    pairs = []
    for _ in wires:
        client, protocol = InMemoryClient(), http.protocol_factory()
        protocol.connection_made(client)
        pairs.append((client, protocol))
    for (_, protocol), wire in zip(pairs, wires):
        protocol.data_received(wire)  # no await in between: one tick
    answers = []
    for client, protocol in pairs:
        while not client.responses:
            client.arrived.clear()
            await asyncio.wait_for(client.arrived.wait(), 20)
        protocol.connection_lost(None)
        answers.append(client.responses[0])
    return answers
