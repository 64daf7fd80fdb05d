"""Operator signals on real Postgres: the gauges of unresolved dead letters and parked holds
follow the stores as the app role reads them, drop to 0 once resolved, and keep their last
values through a database outage without breaking ``/metrics``."""

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from commerce.platform.delivery.dead_letter_store import DeadLetterFilter, DeadLetterStore
from commerce.platform.delivery.operator_signals import OperatorSignals
from commerce.platform.delivery.sequence_holds import HoldState, SequenceHolds
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.observability.metrics import REGISTRY, exposition
from commerce.platform.postgres.engine import create_engine
from tests.support.dead_letters import dead_letter_of, register_user_body

pytestmark = pytest.mark.integration


def _gauge(name: str, consumer: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"consumer": consumer})


def _unresolved(consumer: str) -> float | None:
    return _gauge("commerce_dead_letters_unresolved", consumer)


def _held(consumer: str) -> tuple[float | None, float | None]:
    """The consumer's unreleased holds and the messages parked behind its holds."""
    return (
        _gauge("commerce_parked_holds", consumer),
        _gauge("commerce_parked_holds_messages", consumer),
    )


def _consumer(role: str) -> str:
    return f"signals-{role}-{uuid4().hex[:8]}"


async def _archive(store: DeadLetterStore, *consumers: str) -> None:
    """Archive one dead letter per name in ``consumers``, as the DLQ archiver does."""
    for consumer in consumers:
        record = dead_letter_of(
            register_user_body(), style=HeaderStyle.RABBIT, subject=uuid4().hex, consumer=consumer
        )
        assert await store.add(record)


async def _park(holds: SequenceHolds, consumer: str, key: str, message_id: str) -> None:
    parked = await holds.park(
        consumer, key, message_id, headers={}, body=b"{}", content_type="application/json"
    )
    assert parked


async def test_unresolved_dead_letters_are_counted_per_consumer_and_drop_to_zero(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    first, second, quiet = _consumer("first"), _consumer("second"), _consumer("quiet")
    await _archive(DeadLetterStore(app_engine), first, first, first, second)
    signals = OperatorSignals(app_engine, interval=30, consumers=[quiet])

    await signals.refresh_once()
    assert (_unresolved(first), _unresolved(second), _unresolved(quiet)) == (3, 1, 0)

    operator, now = DeadLetterStore(owner_engine), datetime.now(UTC)
    replay, purge, *_ = await operator.ids(DeadLetterFilter(consumer=first))
    await operator.mark_replayed(replay, at=now)
    await operator.purge([purge], at=now)
    await operator.purge(await operator.ids(DeadLetterFilter(consumer=second)), at=now, hard=True)
    await signals.refresh_once()
    assert (_unresolved(first), _unresolved(second), _unresolved(quiet)) == (1, 0, 0)


async def test_the_app_role_counts_dead_letters_but_still_cannot_read_them(
    app_engine: AsyncEngine,
) -> None:
    async with app_engine.connect() as connection:
        await connection.execute(text("SELECT consumer, status FROM dead_letters"))
    for column in ("body", "headers", "tenant_id", "error_message"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with app_engine.connect() as connection:
                await connection.execute(text(f"SELECT {column} FROM dead_letters"))


async def test_holds_show_how_many_wait_how_long_and_what_is_parked_behind_them(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    consumer, idle = _consumer("ordered"), _consumer("idle")
    holds = SequenceHolds(app_engine)
    await holds.hold(consumer, "dead", "dead-1", HoldState.DEAD_LETTERED)
    await _park(holds, consumer, "dead", "dead-2")
    await _park(holds, consumer, "dead", "dead-3")
    await holds.hold(consumer, "retrying", "retrying-1", HoldState.RETRYING)
    async with owner_engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE sequence_holds SET created_at = now() - interval '20 minutes'"
                " WHERE consumer = :consumer AND aggregate_key = 'dead'"
            ),
            {"consumer": consumer},
        )
    signals = OperatorSignals(app_engine, interval=30, ordered_consumers=[idle])

    await signals.refresh_once()
    assert _held(consumer) == (2, 2)
    oldest = _gauge("commerce_parked_holds_oldest_age_seconds", consumer)
    assert oldest is not None
    assert oldest >= 20 * 60
    assert _held(idle) == (0, 0)
    assert _gauge("commerce_parked_holds_oldest_age_seconds", idle) == 0

    # The dead letter is purged: its hold releases (no longer counted) while its parked
    # messages wait to go back; the retry succeeds and its empty hold ends.
    assert await holds.resolve_head(consumer, "dead-1")
    await holds.settle(consumer, "retrying", "retrying-1")
    await signals.refresh_once()
    assert _held(consumer) == (0, 2)
    assert _gauge("commerce_parked_holds_oldest_age_seconds", consumer) == 0

    for message_id in ("dead-2", "dead-3"):
        await holds.settle(consumer, "dead", message_id)
    await signals.refresh_once()
    assert _held(consumer) == (0, 0)


async def test_a_database_outage_keeps_the_last_values_and_the_loop_running(
    app_engine: AsyncEngine,
) -> None:
    consumer = _consumer("outage")
    await _archive(DeadLetterStore(app_engine), consumer, consumer)
    await OperatorSignals(app_engine, interval=30).refresh_once()
    assert _unresolved(consumer) == 2

    # Nothing listens on port 1: every read fails at once, as when Postgres is down.
    down = create_engine(
        "postgresql+asyncpg://commerce_app:commerce_app@127.0.0.1:1/commerce", pool_size=1
    )
    signals = OperatorSignals(down, interval=0.01, consumers=[consumer])
    stop = asyncio.Event()
    try:
        with capture_logs() as logs:
            loop = asyncio.create_task(signals.run(stop))
            while sum(log["event"].startswith("operator signals not") for log in logs) < 3:
                assert not loop.done(), "the loop ended on a failed read"
                await asyncio.sleep(0.01)
            stop.set()
            await loop
    finally:
        await down.dispose()

    assert _unresolved(consumer) == 2
    assert f'commerce_dead_letters_unresolved{{consumer="{consumer}"}} 2.0' in (
        exposition()[0].decode()
    )
    assert all(log["log_level"] == "warning" and log["error"] for log in logs)
