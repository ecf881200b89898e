"""CPU of a small S3 PUT's write transaction alone (issue 17k; bench/S3_SSE.md, 2026-12-06).

Storage only, file SQLite, no HTTP and no blob: ``atomic()`` scope, the PutObject row (an
overwrite: read the old row, update it, record the replaced blob as garbage), one S3 audit
event, commit. Prints the mean CPU time (``process_time``) per transaction. Run it from a
checkout with that checkout's sources, e.g. main exported next to a branch, interleaved:

    PYTHONPATH=$PWD/src .venv/bin/python bench/s3_put_transaction.py 5000
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())

from tests.conformance.storage.test_audit_storage import record  # noqa: E402 - after the path
from tests.conformance.storage.test_s3_storage import bucket, obj  # noqa: E402
from trent.storage.migrate import migrate  # noqa: E402
from trent.storage.sql import SqlStorage  # noqa: E402
from trent.storage.sql_s3 import SqlS3Repository  # noqa: E402


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory(prefix="trent-put-tx-") as tmp:
        url = f"sqlite:///{tmp}/trent.db"
        migrate(url)
        storage = SqlStorage(url)
        repo = SqlS3Repository.for_storage(storage)
        repo.create_bucket(bucket())
        objects = [obj() for _ in range(64)]
        events = [record("111122223333") for _ in range(64)]

        def once(i: int) -> None:
            with storage.atomic():
                repo.put_object(objects[i & 63])
                storage.append_audit_events([events[i & 63]])

        for i in range(300):  # warm the pool, the statement caches and the pages
            once(i)
        cpu = time.process_time()
        for i in range(count):
            once(i)
        cpu = time.process_time() - cpu
        print(f"{cpu / count * 1e6:.1f} us CPU per transaction ({count})")
        storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
