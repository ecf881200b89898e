"""Recording events in the trail (issue 16): the one audit path of every front door.

:meth:`AuditOutbox.record` turns events into trail rows (``audit.records``) and stores
them with ``storage.append_audit_events`` — inside the caller's open ``atomic()``
transaction when there is one (a mutation and its event commit together, or neither
does), else in a transaction of its own (the group commit of read-only calls). Either
way sequence and chain are decided by the database. A failure is :class:`AuditWriteError`:
the caller must not send the response it was about to send (fail-closed).

The optional JSON-lines mirror (``--audit-log``) gets the same events after they
committed, for operators who ship a local file; it is a copy, never the record, so a
mirror that cannot be written is logged and does not fail the call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from trent.audit.records import AuditEntry, TrailPlacement, to_record
from trent.audit.sink import AuditWriteError, JsonlFileSink
from trent.storage.repositories import Storage, StorageError

log = logging.getLogger("trent.audit")


class AuditOutbox:
    def __init__(self, storage: Storage, placement: TrailPlacement, mirror: JsonlFileSink | None = None) -> None:
        self.storage = storage
        self.placement = placement
        self.mirror = mirror

    def record(self, entries: Sequence[AuditEntry]) -> None:
        """Store ``entries`` in their trails (in the open transaction, if any)."""
        if not entries:
            return
        placement = self.placement
        try:
            records = [to_record(e.event, e.time, placement) for e in entries]
            self.storage.append_audit_events(records)
        except StorageError as exc:
            raise AuditWriteError(f"the audit trail refused the events: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:  # an event we cannot even serialize
            raise AuditWriteError(f"malformed audit event: {type(exc).__name__}") from None
        if self.mirror is not None:
            events = [e.event for e in entries]
            if not self.storage.after_transaction(lambda: self._mirror(events), committed_only=True):
                self._mirror(events)

    def _mirror(self, events: list[dict]) -> None:
        try:
            assert self.mirror is not None
            self.mirror.write_many(events)
        except AuditWriteError:
            log.error("could not copy %d audit events to the JSON-lines mirror", len(events))

    def close(self) -> None:
        if self.mirror is not None:
            self.mirror.close()
