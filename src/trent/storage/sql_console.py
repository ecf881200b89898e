"""The SQL half of the web console (issue 21): sign-in sessions and the sign-in attempt
counters. Mixed into :class:`trent.storage.sql.SqlStorage`; same rules (one transaction
per method, update or delete of a missing row is a no-op)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from trent.domain.console import ConsoleSession
from trent.storage.tables import console_sessions, console_sign_in_attempts

if TYPE_CHECKING:
    from trent.storage.engine import UnitOfWork

_S = console_sessions
_A = console_sign_in_attempts


def _values(session: ConsoleSession) -> dict[str, Any]:
    return {
        "token_sha256": session.token_sha256,
        "principal_arn": session.principal_arn,
        "access_key_id": session.access_key_id,
        "region": session.region,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "last_seen_at": session.last_seen_at,
    }


def _from_row(row: sa.RowMapping) -> ConsoleSession:
    return ConsoleSession(**{name: row[name] for name in _S.c.keys()})


class ConsoleSql:
    _unit: UnitOfWork

    def create_console_session(self, session: ConsoleSession) -> None:
        with self._unit(write=True) as conn:
            conn.execute(_S.insert().values(_values(session)))

    def get_console_session(self, token_sha256: str) -> ConsoleSession | None:
        with self._unit(write=False) as conn:
            row = conn.execute(sa.select(_S).where(_S.c.token_sha256 == token_sha256)).mappings().first()
        return None if row is None else _from_row(row)

    def update_console_session(self, session: ConsoleSession) -> None:
        values = _values(session)
        del values["token_sha256"]
        with self._unit(write=True) as conn:
            conn.execute(_S.update().where(_S.c.token_sha256 == session.token_sha256).values(values))

    def delete_console_session(self, token_sha256: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(_S.delete().where(_S.c.token_sha256 == token_sha256))

    def delete_console_sessions_ending(self, before: float) -> int:
        with self._unit(write=True) as conn:
            return conn.execute(_S.delete().where(_S.c.expires_at <= before)).rowcount or 0

    def list_console_sessions(self, principal_arn: str) -> Sequence[ConsoleSession]:
        query = sa.select(_S).where(_S.c.principal_arn == principal_arn).order_by(_S.c.created_at)
        with self._unit(write=False) as conn:
            return [_from_row(r) for r in conn.execute(query).mappings()]

    def take_sign_in_attempt(self, subject: str, now: float, window_seconds: float, limit: int) -> bool:
        """One atomic statement (so racing nodes cannot overshoot): start a new window, or
        count one more attempt in the current one while it is under ``limit``. False: the
        subject has used up its attempts until its window ends."""
        stale = _A.c.window_start <= now - window_seconds
        with self._unit(write=True) as conn:
            insert = (pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert)(_A)
            stmt = insert.values(subject=subject, window_start=now, attempts=1).on_conflict_do_update(
                index_elements=[_A.c.subject],
                set_={
                    "window_start": sa.case((stale, now), else_=_A.c.window_start),
                    "attempts": sa.case((stale, 1), else_=_A.c.attempts + 1),
                },
                where=sa.or_(stale, _A.c.attempts < limit),
            ).returning(_A.c.attempts)
            return conn.execute(stmt).first() is not None

    def give_back_sign_in_attempt(self, subject: str) -> None:
        """A successful sign-in's attempt does not count against its subject."""
        with self._unit(write=True) as conn:
            conn.execute(_A.update().where(_A.c.subject == subject, _A.c.attempts > 0).values(attempts=_A.c.attempts - 1))

    def clear_sign_in_attempts(self, subject: str) -> None:
        with self._unit(write=True) as conn:
            conn.execute(_A.delete().where(_A.c.subject == subject))
