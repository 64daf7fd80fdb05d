"""Saving a state-stored aggregate (user, item, invoice) after a command changed it.

These aggregates bump ``version`` once per event they record, so the version they were
loaded at is ``version - len(pending_events)``: the repository writes the new state only
if the row is still at that version (optimistic concurrency), then the events go to the
outbox in the same transaction. A command that changed nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from commerce.platform.kit.events import DomainEvent
from commerce.platform.transactions.ports import Outbox

__all__ = ["StateAggregate", "StateRepository", "save_changes"]


class StateAggregate(Protocol):
    """What :func:`save_changes` needs of an aggregate."""

    @property
    def version(self) -> int:
        """The version after the pending events."""
        ...

    @property
    def pending_events(self) -> Sequence[DomainEvent]:
        """Events recorded since the aggregate was loaded."""
        ...

    def collect_events(self) -> list[DomainEvent]:
        """Hand over the pending events."""
        ...


class StateRepository[A: StateAggregate](Protocol):
    """A repository writing an aggregate's state with a version check."""

    async def update(self, aggregate: A, /, *, expected_version: int) -> None:
        """Write ``aggregate`` if its row is at ``expected_version``; else a conflict."""
        ...


async def save_changes[A: StateAggregate](
    aggregate: A, repository: StateRepository[A], outbox: Outbox
) -> None:
    """Write the aggregate's new state and stage its events, if the command recorded any.

    Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` (from the
    repository) when another command changed the aggregate meanwhile.
    """
    pending = len(aggregate.pending_events)
    if not pending:
        return
    await repository.update(aggregate, expected_version=aggregate.version - pending)
    outbox.publish(aggregate.collect_events())
