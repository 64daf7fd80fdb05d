"""What every table module shares: the metadata (naming convention), ``xid8``, defaults."""

from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.types import UserDefinedType

__all__ = ["DEFAULT_ROLES", "SERVER_NOW", "Xid8", "metadata"]


class Xid8(UserDefinedType[int]):
    """Postgres ``xid8``: a 64-bit, wraparound-free transaction id (``pg_current_xact_id()``).

    The outbox relay compares it with ``pg_snapshot_xmin(pg_current_snapshot())`` so that it
    never publishes past a row whose transaction is still open.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """Render the column type in DDL."""
        return "xid8"


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

SERVER_NOW = text("now()")
DEFAULT_ROLES = text("'{customer}'::text[]")
