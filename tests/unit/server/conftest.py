"""Fixtures shared by the server's unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from trent.server.body_pipe import BodyPipe


@pytest.fixture
def pipe() -> Iterator[BodyPipe]:
    """A pipe that never pauses its connection (no high water to reach)."""
    loop = asyncio.new_event_loop()
    try:
        yield BodyPipe(loop, pause=lambda: None, resume=lambda: None, high_water=1 << 40)
    finally:
        loop.close()
