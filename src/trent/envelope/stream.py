"""Streaming engine facade: the message as generators of chunks, bounded memory.

* :func:`encrypt_chunks` (encryptor.py) — header, framed body, footer;
* :func:`decrypt_chunks` (decryptor.py) — plaintext, released frame by frame after each tag.

Memory is bounded by the chunk size (~1 MiB, or one frame if frames are larger): the buffers
are allocated once per message and reused; the yielded views are valid until the next chunk.
See decryptor.py for what "released" means with signed suites.
"""

from __future__ import annotations

from .decryptor import decrypt_chunks
from .encryptor import encrypt_chunks

__all__ = ["decrypt_chunks", "encrypt_chunks"]
