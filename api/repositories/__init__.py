"""The one place for queries: each module reads and writes one area's tables.

Services call these functions and never build SQL themselves; nothing here commits (the request's
session dependency, or the worker's unit of work, does).
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, Table
from sqlalchemy.orm import Session


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE changed."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def insert_plain_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT many rows of plain values (ints, floats, text) straight through the driver.

    For the bulk paths only: SQLAlchemy's per-row parameter processing costs ~10 µs a row,
    which is most of the time of an import's ~100k child rows. Values get no type processing,
    so they must already be what the column stores."""
    if not rows:
        return
    style = session.get_bind().dialect.paramstyle
    mark = "?" if style == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    session.connection().exec_driver_sql(sql, [tuple(r) for r in rows])
