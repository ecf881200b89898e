"""Events Trent performs itself, recorded in the trail as CloudTrail ``AwsServiceEvent``s
(spec §11): DeleteKey at the end of a waiting period, RotateKey, DeleteExpiredKeyMaterial,
and SynchronizeMultiRegionKey when a multi-Region key's shared properties change (spec §12).

The audit outbox is attached by bootstrap once it exists; until then (unit tests, admin
commands) events are dropped. An event is recorded in the caller's open transaction when
there is one (issue 16: the change and its event commit together), and a failure raises
``AuditWriteError`` so that the change rolls back with it — never a change without its event.
"""

from __future__ import annotations

from trent.audit.events import service_event
from trent.audit.records import AuditEntry
from trent.domain.clock import Clock
from trent.domain.ids import new_uuid4
from trent.domain.keys import Key
from trent.service.audit_outbox import AuditOutbox


class ServiceEvents:
    def __init__(self) -> None:
        self._outbox: AuditOutbox | None = None
        self._clock: Clock | None = None

    def attach(self, outbox: AuditOutbox, clock: Clock) -> None:
        self._outbox, self._clock = outbox, clock

    def emit(self, operation: str, key: Key) -> None:
        """Record one service event (raises ``AuditWriteError``: roll the change back)."""
        if self._outbox is None or self._clock is None:
            return
        now = self._clock.now()
        event = service_event(
            event_id=new_uuid4(), event_time=now, operation=operation, region=key.region,
            account_id=key.account_id, key_arn=key.arn, key_id=key.key_id,
        )
        self._outbox.record([AuditEntry(event, now)])
