"""Alembic environment for the ecopy registry.

``Registry.migrate()`` passes an open connection in ``config.attributes["connection"]``. From the
command line (``alembic -c storage/alembic.ini upgrade head``) the URL comes from
``ECOPY_DATABASE_URL`` or ``sqlalchemy.url`` in the ini file.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from storage.registry import metadata, normalize_url

config = context.config
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)  # CLI only
target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can only ALTER by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("ECOPY_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set ECOPY_DATABASE_URL (or sqlalchemy.url in alembic.ini) to migrate")
    return normalize_url(url)


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                _run(conn)
                conn.commit()
        finally:
            engine.dispose()
