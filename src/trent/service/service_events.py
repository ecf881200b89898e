"""Events Trent performs itself, written to the audit log as CloudTrail ``AwsServiceEvent``s
(spec §11): DeleteKey at the end of a waiting period, RotateKey, DeleteExpiredKeyMaterial,
and SynchronizeMultiRegionKey when a multi-Region key's shared properties change (spec §12).

The audit sink is attached by bootstrap once it exists; until then (unit tests, admin
commands) events are dropped. A failed write is logged, never raised: the change it
describes has already been committed.
"""

from __future__ import annotations

import logging

from trent.audit.events import service_event
from trent.audit.sink import AuditSink, AuditWriteError
from trent.domain.clock import Clock
from trent.domain.ids import new_uuid4
from trent.domain.keys import Key

log = logging.getLogger("trent.audit")


class ServiceEvents:
    def __init__(self) -> None:
        self._sink: AuditSink | None = None
        self._clock: Clock | None = None

    def attach(self, sink: AuditSink, clock: Clock) -> None:
        self._sink, self._clock = sink, clock

    def emit(self, operation: str, key: Key) -> None:
        if self._sink is None or self._clock is None:
            return
        event = service_event(
            event_id=new_uuid4(), event_time=self._clock.now(), operation=operation, region=key.region,
            account_id=key.account_id, key_arn=key.arn, key_id=key.key_id,
        )
        try:
            self._sink.write(event)
        except AuditWriteError:
            log.error("could not record %s of %s in the audit log", operation, key.arn)
