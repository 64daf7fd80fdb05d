"""``commerce projections rebuild NAME``: refill a read model from its source, swap it in.

1. **Copies.** Each of the projection's tables gets an empty twin ``<table>_rebuild``.
2. **Snapshot pass.** One ``REPEATABLE READ`` transaction reads the source as of one
   snapshot (every tenant), in batches; each batch is folded into the copies by the same
   code as the live consumer (:func:`~commerce.platform.read_side.projection_kit.apply_updates`) and
   committed. The snapshot is remembered (``pg_current_snapshot()``).
3. **Catch-up passes** read only what the previous snapshot did not see (events of
   transactions that committed meanwhile), until a pass is small.
4. **Swap**, in one transaction: ``LOCK`` the live tables ``IN EXCLUSIVE MODE`` (readers go
   on; the live consumer's writes wait), apply the last delta, give each copy the live
   table's grants and policies, drop the live table and rename the copy. Everything the
   live consumer had written came from events committed before the lock, so the delta
   has them; everything after reaches the new table through the consumer (its version
   check skips what the rebuild applied). ``lock_timeout`` bounds the wait behind a long
   transaction: the swap is retried, never left half done.

Readers never wait except for the swap's ``ACCESS EXCLUSIVE`` moment (milliseconds) and
never see an empty or partial table. Runs as the owner role; one rebuild per projection
at a time (an advisory lock). See ``docs/adr/0013-projections-and-read-side.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.platform.postgres.table_swap import create_copy, drop_copy, lock_tables, swap_in
from commerce.platform.postgres.tables import projection_rebuilds
from commerce.platform.read_side.projection_kit import (
    RowProjection,
    Versioned,
    apply_updates,
    rebuild_copy,
)
from commerce.platform.read_side.projection_sources import RebuildSource

__all__ = ["RebuildBusyError", "RebuildReport", "Rebuildable", "rebuild"]

_MAINTENANCE = text("SELECT set_config('app.maintenance', 'rebuild', true)")
_LOCK_NOT_AVAILABLE = "55P03"

type Progress = Callable[[int, int], None]
"""Told ``(updates applied so far, updates in the snapshot pass)`` after each batch."""


class RebuildBusyError(RuntimeError):
    """Another rebuild of the same projection is running."""


@dataclass(frozen=True, slots=True)
class Rebuildable[S: Versioned]:
    """A projection and the source it can be rebuilt from."""

    projection: RowProjection[S]
    source: RebuildSource[S]


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What a rebuild did and how long it took."""

    projection: str
    updates: int
    """Events (or source rows) applied, over every pass."""
    passes: int
    seconds: float
    swap_seconds: float
    """The final transaction: last delta, swap, commit (live writes waited this long)."""
    swap_attempts: int


def _lock_key(name: str) -> int:
    digest = hashlib.blake2b(f"projection-rebuild:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, signed=True)


def _lock_not_available(error: DBAPIError) -> bool:
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        if getattr(candidate, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            return True
    return False


async def _pass[S: Versioned](
    engine: AsyncEngine,
    target: Rebuildable[S],
    copies: tuple[Any, ...],
    *,
    seen: str | None,
    batch_size: int,
    progress: Progress | None,
) -> tuple[str, int]:
    """One pass from a fresh snapshot: ``(that snapshot, updates applied)``."""
    applied = 0
    async with engine.connect() as reading, engine.connect() as writing:
        snapshot = await reading.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with snapshot.begin():
            await snapshot.execute(_MAINTENANCE)
            taken = str(await snapshot.scalar(text("SELECT pg_current_snapshot()::text")))
            total = await target.source.count(snapshot, copies) if progress else 0
            async for batch in target.source.read(
                snapshot, copies, seen=seen, batch_size=batch_size
            ):
                async with writing.begin():
                    await apply_updates(target.projection, writing, batch, tables=copies)
                applied += len(batch)
                if progress is not None:
                    progress(applied, max(total, applied))
    return taken, applied


async def _swap[S: Versioned](
    connection: AsyncConnection,
    target: Rebuildable[S],
    copies: tuple[Any, ...],
    *,
    seen: str,
    lock_timeout: float,
) -> int:
    """In the caller's transaction: lock, last delta, swap; the updates applied."""
    await connection.execute(
        text("SELECT set_config('lock_timeout', :ms, true)"),
        {"ms": f"{round(lock_timeout * 1000)}"},
    )
    await connection.execute(_MAINTENANCE)
    live = list(target.projection.tables)
    await lock_tables(connection, live, "EXCLUSIVE")
    batches = [
        batch
        async for batch in target.source.read(
            connection, copies, seen=seen, batch_size=5_000, buffered=True
        )
    ]
    for batch in batches:
        await apply_updates(target.projection, connection, batch, tables=copies)
    for table, copy in zip(live, copies, strict=True):
        await swap_in(connection, table, copy)
    return sum(map(len, batches))


async def rebuild[S: Versioned](
    engine: AsyncEngine,
    target: Rebuildable[S],
    *,
    progress: Progress | None = None,
    batch_size: int = 2_000,
    catch_up_passes: int = 5,
    lock_timeout: float = 5.0,
    swap_attempts: int = 5,
) -> RebuildReport:
    """Rebuild ``target`` with ``engine`` (the owner's) and swap it in; see the module."""
    name = target.projection.name
    started = time.perf_counter()
    async with engine.connect() as guard:
        if not await guard.scalar(select(func.pg_try_advisory_lock(_lock_key(name)))):
            raise RebuildBusyError(f"a rebuild of {name} is already running")
        await guard.commit()
        run = await _record_start(engine, name)
        copies = tuple(rebuild_copy(table) for table in target.projection.tables)
        try:
            async with engine.begin() as connection:
                for live, copy in zip(target.projection.tables, copies, strict=True):
                    await create_copy(connection, live, copy)
            seen, last = await _pass(
                engine, target, copies, seen=None, batch_size=batch_size, progress=progress
            )
            updates, passes = last, 1
            while last >= batch_size and passes <= catch_up_passes:
                seen, last = await _pass(
                    engine, target, copies, seen=seen, batch_size=batch_size, progress=None
                )
                updates, passes = updates + last, passes + 1
            swap_started, attempt = time.perf_counter(), 0
            while True:
                attempt += 1
                swap_started = time.perf_counter()
                try:
                    async with engine.begin() as connection:
                        updates += await _swap(
                            connection, target, copies, seen=seen, lock_timeout=lock_timeout
                        )
                    break
                except DBAPIError as error:
                    if not _lock_not_available(error) or attempt >= swap_attempts:
                        raise
                    await asyncio.sleep(min(1.0, 0.1 * attempt))
            swap_seconds = time.perf_counter() - swap_started
        except Exception as error:
            await _abandon(engine, copies, run, error)
            raise
        finally:
            await guard.execute(select(func.pg_advisory_unlock(_lock_key(name))))
            await guard.commit()
    await _record_end(engine, run, "swapped", updates, f"{passes} passes, {attempt} swap attempts")
    return RebuildReport(
        projection=name,
        updates=updates,
        passes=passes + 1,
        seconds=time.perf_counter() - started,
        swap_seconds=swap_seconds,
        swap_attempts=attempt,
    )


async def _record_start(engine: AsyncEngine, name: str) -> int:
    async with engine.begin() as connection:
        statement = (
            projection_rebuilds.insert()
            .values(projection=name, status="running")
            .returning(projection_rebuilds.c.id)
        )
        return int((await connection.execute(statement)).scalar_one())


async def _record_end(
    engine: AsyncEngine, run: int, status: str, updates: int, detail: str
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(projection_rebuilds)
            .where(projection_rebuilds.c.id == run)
            .values(status=status, events=updates, finished_at=func.now(), detail=detail[:1000])
        )


async def _abandon(
    engine: AsyncEngine, copies: tuple[Any, ...], run: int, error: BaseException
) -> None:
    async with engine.begin() as connection:
        for copy in copies:
            await drop_copy(connection, copy)
    await _record_end(engine, run, "failed", 0, f"{type(error).__name__}: {error}")
