"""UsageTracker: the in-memory half of GetKeyLastUsage (service/usage.py)."""

from __future__ import annotations

from trent.domain.keys import Key, KeySpec, KeyState, KeyUsage, Origin
from trent.domain.lifecycle import KeyUse
from trent.service.usage_tracker import UsageTracker

KEY = Key("1234abcd-12ab-34cd-56ef-1234567890ab", "111122223333", "us-east-1", "aws", KeySpec.SYMMETRIC_DEFAULT,
          KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, KeyState.ENABLED, 0.0)


class FakeStorage:
    def __init__(self, tracker: UsageTracker | None = None) -> None:
        self.written: list[KeyUse] = []
        self.tracker = tracker

    def record_key_usage(self, uses):
        self.written.extend(uses)
        if self.tracker is not None:  # a newer use lands while the flush is writing
            self.tracker.record(KEY, "Decrypt", 9.0, "r9")


def test_latest_use_wins_and_flush_empties():
    tracker = UsageTracker()
    assert tracker.pending(KEY.region, KEY.key_id) is None
    tracker.record(KEY, "Encrypt", 1.0, "r1")
    tracker.record(KEY, "GenerateDataKey", 2.0, "r2")
    assert tracker.pending(KEY.region, KEY.key_id) == KeyUse(KEY.region, KEY.key_id, "GenerateDataKey", 2.0, "r2")
    storage = FakeStorage()
    assert tracker.flush(storage) == 1
    assert storage.written == [KeyUse(KEY.region, KEY.key_id, "GenerateDataKey", 2.0, "r2")]
    assert tracker.pending(KEY.region, KEY.key_id) is None
    assert tracker.flush(storage) == 0


def test_a_use_recorded_during_a_flush_is_kept_for_the_next():
    tracker = UsageTracker()
    tracker.record(KEY, "Encrypt", 1.0, "r1")
    tracker.flush(FakeStorage(tracker))
    assert tracker.pending(KEY.region, KEY.key_id) == KeyUse(KEY.region, KEY.key_id, "Decrypt", 9.0, "r9")
