"""Alembic environment for Trent's one portable migration tree (SQLite and PostgreSQL).

Normally driven programmatically by :func:`trent.storage.migrate.upgrade_to_head`, which
hands over an open connection in ``config.attributes["connection"]`` so the migration
runs inside the caller's transaction. Developers can also run the ``alembic`` CLI with
``-c src/trent/storage/migrations/alembic.ini -x url=<database url>``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from trent.storage.tables import metadata

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database url: pass -x url=... or set sqlalchemy.url")
    return url


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables portably.
        render_as_batch=True,
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
