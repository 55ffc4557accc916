"""The one place for queries: each module reads and writes one area's tables.

Services call these functions and never build SQL themselves; nothing here commits (the request's
session dependency, or the worker's unit of work, does).
"""

from typing import Any

from sqlalchemy import CursorResult


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE changed."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
