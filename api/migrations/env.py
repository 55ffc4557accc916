"""Alembic environment: migrations run on the connection `api.db.migrate` hands over, or, from
the `alembic` command line, on `VOLMATCH_DATABASE_URL`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from api.db import make_engine
from api.models import Base
from api.settings import Settings

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    with make_engine(Settings().database_url).connect() as conn:
        _run(conn)
