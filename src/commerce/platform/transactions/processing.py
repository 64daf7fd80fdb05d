"""Run one command exactly once: inbox claim, handler, outbox, one commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from commerce.platform.kit.errors import DomainError
from commerce.platform.kit.message_context import MessageContext, Rejection
from commerce.platform.transactions.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["CommandHandler", "Outcome", "process_command"]

type CommandHandler[U: UnitOfWork] = Callable[[U], Awaitable[None]]
"""The use case, bound to its command and collaborators, run inside the transaction."""


class Outcome(StrEnum):
    """What processing a command did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


async def process_command[U: UnitOfWork](
    *,
    consumer: str,
    context: MessageContext,
    aggregate_id: str,
    handler: CommandHandler[U],
    open_unit_of_work: UnitOfWorkFactory[U],
    rejects: bool = True,
) -> Outcome:
    """Apply ``handler`` at most once per (consumer, message id).

    The inbox record, the state change and the outbox rows commit in one transaction.
    A :class:`DomainError` undoes the state change, keeps the inbox record and stages a
    rejection event instead, so the command is never retried; with ``rejects=False`` (an
    event consumer: there is no sender to tell) it propagates like any failure.
    """
    async with open_unit_of_work(context) as uow:
        if not await uow.claim(consumer):
            return Outcome.DUPLICATE
        try:
            async with uow.savepoint():
                await handler(uow)
        except DomainError as error:
            if not rejects:
                raise
            uow.outbox.reject(
                Rejection(
                    command_type=context.message_type,
                    aggregate_id=aggregate_id,
                    reason_code=error.code,
                    reason=error.reason,
                    retry_after_seconds=error.retry_after_seconds,
                )
            )
            await uow.commit()
            return Outcome.REJECTED
        await uow.commit()
        return Outcome.APPLIED
