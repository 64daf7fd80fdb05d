"""Each consumer group's compartment of the worker: its bulkhead, its pool, its units of work.

The groups are those of :mod:`commerce.registry.consumer_groups`, each sized by its
section of ``COMMERCE_BULKHEADS__*``. Commands share transactions when group commit is on
(docs/adr/0016); every other group gives each message a transaction of its own, on its own
pool, so it never joins (nor holds up) the commands' shared transactions
(docs/adr/0021-bulkheads-per-consumer-group.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.config import Settings
from commerce.platform.postgres.engine import create_engine
from commerce.platform.resilience.bulkhead import Bulkhead
from commerce.platform.transactions.group_commit import GroupCommit
from commerce.platform.transactions.ports import UnitOfWorkFactory
from commerce.registry.consumer_groups import COMMANDS
from commerce.registry.unit_of_work import (
    ServiceUnitOfWork,
    shared_units_of_work,
    units_of_work,
)

__all__ = ["Compartment", "build_compartments"]


@dataclass
class Compartment:
    """What one consumer group's messages run with, shared by all its consumers."""

    group: str
    bulkhead: Bulkhead
    """At most the group's ``concurrency`` messages in flight; the others wait their turn."""
    engine: AsyncEngine
    """The group's own pool (``pool_size`` + ``max_overflow`` connections at most)."""
    open_unit_of_work: UnitOfWorkFactory[ServiceUnitOfWork]
    """A transaction per message, or shared ones (commands with group commit)."""


def build_compartments(
    settings: Settings, *, source: str, tracer: Tracer
) -> Mapping[str, Compartment]:
    """A compartment per consumer group of ``settings.bulkheads`` (connections open lazily)."""
    database = settings.database
    compartments: dict[str, Compartment] = {}
    for group, limits in settings.bulkheads.groups.items():
        engine = create_engine(
            database.url.get_secret_value(),
            pool_size=limits.pool_size,
            max_overflow=limits.max_overflow,
            application_name=f"{settings.service_name}-{group}",
            statement_timeout_ms=database.statement_timeout_ms,
        )
        open_unit_of_work: UnitOfWorkFactory[ServiceUnitOfWork] = (
            shared_units_of_work(
                GroupCommit(
                    engine,
                    max_members=database.group_commit_max_messages,
                    transactions=database.group_commit_transactions,
                ),
                source=source,
                tracer=tracer,
            )
            if group == COMMANDS and database.group_commit_max_messages > 1
            else units_of_work(engine, source=source, tracer=tracer)
        )
        compartments[group] = Compartment(
            group=group,
            bulkhead=Bulkhead(group, limits.concurrency),
            engine=engine,
            open_unit_of_work=open_unit_of_work,
        )
    return compartments
