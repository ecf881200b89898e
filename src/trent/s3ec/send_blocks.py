"""Send a file-like request body in 256 KiB blocks instead of urllib3's 16 KiB.

urllib3 2.x sends a body that has ``read`` by calling ``body.read(blocksize)`` and ``sendall``
per block (urllib3 ``connection.py`` ``request`` / ``util/request.py`` ``body_to_chunks``),
with ``blocksize`` = 16 KiB unless the connection pool was given another. An encrypted part
(file_parts.py) is a file-like body, so at 16 KiB a 1 GiB upload costs 65,536 Python reads,
``pread``s, GCM calls and ``send`` syscalls, and the receiver gets the bytes in small segments:
measured on the S3EC bench (bench/S3EC.md, 2026-12-05), 256 KiB blocks took the client from
~1250 to ~1550 MB per CPU second and the sink's CPU per GiB from 2.6 s to 0.8 s.

botocore exposes no setting for it, so the block size is set on the S3 client's urllib3 pool
manager (private attributes of botocore's ``URLLib3Session``): it affects only how file-like
bodies are cut for ``sendall`` — not the bytes, headers, signing, retries or responses — and
applies to the caller's other uploads through the same client as well. Anything unexpected
(another HTTP session, attributes renamed) leaves the client as it is: slower, never wrong.
"""

from __future__ import annotations

from typing import Any

SEND_BLOCK = 256 * 1024  # = file_parts' largest read: one read, one encrypt, one sendall


def widen_send_blocks(s3: Any, size: int = SEND_BLOCK) -> bool:
    """Ask ``s3``'s connection pools for ``size``-byte body blocks; True if it took effect."""
    session = getattr(getattr(s3, "_endpoint", None), "http_session", None)
    managers = [getattr(session, "_manager", None), *getattr(session, "_proxy_managers", {}).values()]
    done = False
    for manager in managers:
        kw = getattr(manager, "connection_pool_kw", None)
        if isinstance(kw, dict):
            # urllib3 keys its pools by these arguments: pools opened from now on use the size
            kw["blocksize"] = size
            done = True
    return done
