"""Blob deletions in a request (protocol/s3/deferred_deletes.py, issue 17): a rolled-back
change keeps the content its row still names; a committed one leaves a blob an older row
named to the reaper (a racing GET may still open it); only blobs the call itself wrote
and gave up on go at once."""

from __future__ import annotations

import threading

from trent.objectstore.blob_file import FileBlobStore
from trent.protocol.s3.deferred_deletes import DeferredDeletes

NAME = "ab/cd/" + "0" * 32
OTHER = "ab/cd/" + "1" * 32


def test_replaced_blobs_are_left_to_the_reaper_after_commit_or_rollback(tmp_path) -> None:
    store = DeferredDeletes(FileBlobStore(tmp_path, durable=False))
    store.put(NAME, [b"ciphertext"])
    store.put(OTHER, [b"more"])
    store.begin()
    store.delete(NAME)
    assert sorted(store.names()) == [NAME, OTHER]  # nothing yet
    store.end(committed=False)
    assert sorted(store.names()) == [NAME, OTHER]  # rolled back: the row still names it
    store.begin()
    store.delete(NAME)
    store.end(committed=True)
    assert sorted(store.names()) == [NAME, OTHER]  # committed: recorded as garbage, reaped later
    store.delete(OTHER)  # outside a call: at once
    assert list(store.names()) == [NAME]


def test_calls_on_other_threads_do_not_share_a_queue(tmp_path) -> None:
    store = DeferredDeletes(FileBlobStore(tmp_path, durable=False))
    store.put(NAME, [b"x"])
    store.begin()
    other = threading.Thread(target=store.delete, args=(NAME,))
    other.start()
    other.join()
    assert list(store.names()) == []  # the other thread had no open call: deleted at once
    store.end(committed=False)


def test_a_put_whose_pieces_raise_leaves_nothing(tmp_path) -> None:
    store = FileBlobStore(tmp_path, durable=False)

    def pieces():
        yield b"partial"
        raise ValueError("bad digest")

    try:
        store.put(NAME, pieces())
    except ValueError:
        pass
    else:
        raise AssertionError("the error must propagate")
    assert list(store.names()) == [] and not any(tmp_path.rglob(".put-*"))


def test_a_rolled_back_call_deletes_the_blobs_it_wrote(tmp_path) -> None:
    """A streaming write stores its blob before the transaction that names it: on rollback
    the blob is referenced by nothing and goes; on commit it stays."""
    store = DeferredDeletes(FileBlobStore(tmp_path, durable=False))
    store.put(OTHER, [b"old"])  # outside a call: nothing tracked
    store.begin()
    store.put(NAME, [b"new ciphertext"])
    store.delete(OTHER)  # the replaced blob: waits for the commit
    store.end(committed=False)
    assert list(store.names()) == [OTHER]  # the new blob is gone, the old one kept
    store.begin()
    store.put(NAME, [b"new ciphertext"])
    store.delete(OTHER)
    store.end(committed=True)
    assert sorted(store.names()) == [NAME, OTHER]  # the replaced one waits for the reaper


def test_a_committed_call_deletes_a_blob_it_wrote_and_gave_up(tmp_path) -> None:
    """E.g. PutObject into a bucket deleted meanwhile: the row write failed, the call
    committed its error; no row ever named the new blob, so it goes at once."""
    store = DeferredDeletes(FileBlobStore(tmp_path, durable=False))
    store.put(OTHER, [b"old"])
    store.begin()
    store.put(NAME, [b"new ciphertext"])
    store.delete(NAME)
    store.end(committed=True)
    assert list(store.names()) == [OTHER]
