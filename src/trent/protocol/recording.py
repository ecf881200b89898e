"""How a call and its audit event are committed together (issue 16), for every front door.

A call that *changes* something runs inside ``storage.atomic()``: the use case writes,
the front door builds the event from the outcome and appends it **in the same
transaction**, then one commit. If the use case fails, the append fails or the commit
fails, the transaction rolls back — nothing changed — and the caller gets the error
(the event of that failure is then recorded like any read-only call's).

A call that wrote nothing (read-only, cryptographic, denied, failed) leaves here with
its event *not yet recorded* (``Concluded.recorded`` False): the built-in HTTP server
group-commits those once per loop tick; other front doors call :func:`record_now`.
Either way no response leaves before its event is in the trail.

A call served on the event loop may also leave with its change not yet written
(``Concluded.change``, a :class:`HeldChange`: a small S3 PutObject's object row). The
server's group commit then applies it in the batch's transaction, just before the
batch's events, so the change and its event still commit together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from trent import errors
from trent.audit.records import AuditEntry
from trent.audit.sink import AuditWriteError
from trent.domain.frozen import fast_init
from trent.service.audit_outbox import AuditOutbox
from trent.storage.repositories import Storage, StorageError

log = logging.getLogger("trent.request")

T = TypeVar("T")
R = TypeVar("R")


@fast_init
@dataclass(frozen=True, slots=True)
class Concluded(Generic[R]):
    entry: AuditEntry
    response: R
    recorded: bool  # False: record ``entry`` before ``response`` may leave
    # Further events of the same call, recorded with ``entry`` and just before it in the
    # same append (S3: the KMS calls it made for the caller, s3-sse spec §4). Unrecorded
    # when ``recorded`` is False: the group commit writes them in the call's batch.
    companions: tuple[AuditEntry, ...] = ()
    # The call's change, held (module doc): only with ``recorded`` False.
    change: HeldChange | None = None


class HeldChange(Protocol):
    """A call's write that the server's group commit applies in its batch's transaction."""

    def apply(self) -> Concluded[Any] | None:
        """Write the change inside the open transaction: None when it was written, else
        how the call concludes instead (a refusal of this change only, its event unrecorded:
        the batch records it in place of the call's own)."""

    def settle(self, committed: bool) -> None:
        """After the batch: whether the change committed (False: it was refused, or the
        batch's transaction failed and nothing of it happened)."""


class _Rollback(Exception):
    def __init__(self, error: errors.TrentError) -> None:
        self.error = error


def atomically(
    storage: Storage,
    outbox: AuditOutbox,
    work: Callable[[], T],
    conclude: Callable[[T | None, errors.TrentError | None], tuple[AuditEntry, R]],
    what: str = "call",
    companions: Callable[[], Sequence[AuditEntry]] | None = None,
) -> Concluded[R]:
    """Run ``work`` in one transaction with its event; ``conclude(result, error)`` builds
    the event and the response (exactly one of result/error is given). ``companions``:
    further events of the same call (S3: the KMS calls it made for the caller), appended
    with it, just before it, when the change commits."""
    try:
        with storage.atomic():
            try:
                result = work()
            except errors.TrentError as exc:
                raise _Rollback(exc) from None
            except (StorageError, AuditWriteError):
                raise
            except Exception:  # noqa: BLE001 - the wire never sees a traceback
                log.exception("unexpected failure in %s", what)
                raise _Rollback(errors.KMSInternal()) from None
            entry, response = conclude(result, None)
            if not storage.in_write_transaction():
                return Concluded(entry, response, False)
            extra = companions() if companions is not None else ()
            outbox.record([*extra, entry])  # the last statement before the commit
        return Concluded(entry, response, True)
    except _Rollback as rollback:
        error = rollback.error
    except AuditWriteError:
        log.error("%s: its audit event could not be recorded; the change was rolled back", what)
        error = errors.KMSInternal()
    except StorageError as exc:
        log.error("%s: the transaction failed (%s); nothing changed", what, exc)
        error = errors.KMSInternal()
    entry, response = conclude(None, error)
    return Concluded(entry, response, False)


def record_now(outbox: AuditOutbox, concluded: Concluded[R], refuse: Callable[[], R]) -> R:
    """The response to send: ``concluded.response`` once its event is recorded, else
    ``refuse()`` (fail-closed)."""
    if concluded.recorded:
        return concluded.response
    try:
        outbox.record([*concluded.companions, concluded.entry])
    except AuditWriteError:
        log.error("audit write failed; refusing the call")
        return refuse()
    return concluded.response
