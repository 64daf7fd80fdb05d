"""The failure policy of one consumer: immediate retries, delayed redelivery, dead letters.

Declared per consumer by :class:`commerce.platform.messaging.channels.RetryPolicy` and applied by a
FastStream middleware on the consumer's own router:

1. a transient failure is retried in-process ``immediate`` times;
2. then the message is re-sent through the broker to retry round ``n`` (a delay queue with
   per-message TTL on RabbitMQ, a retry topic with a not-before header on Kafka) and the
   original is acked; nothing sleeps in a handler;
3. after the last round, or at once for decode, schema, envelope and declared permanent
   errors, it goes to the consumer's DLQ; a message no handler accepts goes to
   ``skipped``. The original body and headers always travel untouched, plus ``x-fault-*``
   and ``x-retry-*`` headers.

A message deferred on purpose (:class:`~commerce.platform.delivery.deferral.DeliveryDeferred`,
e.g. over a rate limit) travels like a delayed redelivery but keeps its round: it is not a
failure (:mod:`commerce.platform.delivery.deferral`).

For an ordered consumer, a message that leaves the line (retry round or DLQ) first puts a
hold on its aggregate, so later events of that aggregate are parked behind it
(:mod:`commerce.platform.delivery.sequence_holds`).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any

import structlog
from faststream import BaseMiddleware, StreamMessage
from faststream.exceptions import HandlerException, SubscriberNotFound

from commerce.platform.delivery.chaos import delivery_attempt
from commerce.platform.delivery.deferral import (
    DEFERRALS,
    DEFERRED_BY,
    DeliveryDeferred,
    deferral_schedule,
    deferrals_of,
)
from commerce.platform.delivery.faults import FAULT_PREFIX, PERMANENT_ERRORS, fault_headers
from commerce.platform.delivery.sequence_gate import sequence_of
from commerce.platform.delivery.sequence_holds import HoldState, SequenceHolds
from commerce.platform.messaging.channels import Consumer
from commerce.platform.messaging.transport import OutgoingMessage, RawMessage, Transport
from commerce.platform.observability.metrics import record_dead_letter, record_retry
from commerce.platform.resilience.consumer_guard import ConsumerGuard, ConsumerPausedError
from commerce.platform.resilience.outages import Outage

__all__ = [
    "OUTAGE_LEFT_ON_BROKER",
    "RETRY_NOT_BEFORE",
    "RETRY_ROUND",
    "failure_policy_middleware",
    "retry_round_of",
]

RETRY_ROUND = "x-retry-round"
"""Which delayed redelivery round a message is in (absent: first delivery)."""
OUTAGE_LEFT_ON_BROKER = "outage: message left on the broker"
"""The log event of a message whose failure was a confirmed outage (docs/adr/0023)."""
RETRY_NOT_BEFORE = "x-retry-not-before-ms"
"""Unix time in milliseconds before which a redelivered message must not be handled."""

_log = structlog.get_logger("commerce.redelivery")


def retry_round_of(headers: dict[str, str]) -> int:
    """The round a message is in; 0 for a first delivery or an unreadable header."""
    try:
        return max(0, int(headers.get(RETRY_ROUND, "0")))
    except ValueError:
        return 0


class _FailurePolicyMiddleware(BaseMiddleware):
    """Applies one consumer's :class:`RetryPolicy` to one message."""

    def __init__(
        self,
        msg: Any,
        /,
        *,
        context: Any,
        channel: Consumer,
        transport: Transport,
        holds: SequenceHolds | None,
        guard: ConsumerGuard | None,
        clock: Callable[[], datetime],
        unit_random: Callable[[], float],
    ) -> None:
        super().__init__(msg, context=context)
        self._channel = channel
        self._holds = holds
        self._guard = guard
        self._judged: tuple[BaseException, Outage | None] | None = None
        self._transport = transport
        self._clock = clock
        self._random = unit_random
        self._attempts = 0

    def _is_permanent(self, error: BaseException) -> bool:
        return isinstance(error, PERMANENT_ERRORS + self._channel.retry.permanent)

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        """Wait out a redelivery's not-before, then run with immediate retries.

        With a kill switch, the message first waits for its turn (none while paused).
        """
        not_before = msg.headers.get(RETRY_NOT_BEFORE)
        if not_before and not_before.isdigit():
            self._transport.defer(msg, until=int(not_before) / 1000)
        if self._guard is None:
            return await self._run(call_next, msg)
        async with self._guard.admitted():
            result = await self._run(call_next, msg)
        await self._guard.succeeded()
        return result

    async def _outage_in(self, error: BaseException) -> Outage | None:
        """The confirmed outage behind ``error`` (asked once per error), if any."""
        if self._guard is None:
            return None
        if self._judged is None or self._judged[0] is not error:
            self._judged = (error, await self._guard.outage_in(error))
        return self._judged[1]

    async def _run(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        while True:
            self._attempts += 1
            attempt = delivery_attempt.set(self._attempts)
            try:
                return await call_next(msg)
            except Exception as error:
                exhausted = self._attempts > self._channel.retry.immediate
                if isinstance(error, DeliveryDeferred):
                    raise
                if exhausted or self._is_permanent(error) or isinstance(error, HandlerException):
                    raise
                if await self._outage_in(error) is not None:
                    raise  # no use retrying while the dependency is down
                record_retry(self._channel.consumer, "immediate", error)
                _log.warning(
                    "transient failure; retrying at once",
                    consumer=self._channel.consumer,
                    attempt=self._attempts,
                    error=f"{type(error).__name__}: {error}",
                )
            finally:
                delivery_attempt.reset(attempt)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        """Route a failure: skipped, DLQ, or the next delayed round; then ack."""
        if exc_val is None or isinstance(exc_val, HandlerException):
            return False
        if not isinstance(exc_val, Exception):
            return False  # cancellation and exits are not message failures
        if isinstance(exc_val, DeliveryDeferred):  # on purpose: neither failure nor outage
            await self._defer(self._transport.raw(self.msg), exc_val)
            return True
        if not self._is_permanent(exc_val) and (outage := await self._outage_in(exc_val)):
            # Untouched: no retry round, no dead letter; the broker delivers it again. A
            # message merely held while its consumer was paused says so at DEBUG only.
            log = _log.debug if isinstance(exc_val, ConsumerPausedError) else _log.info
            log(
                OUTAGE_LEFT_ON_BROKER,
                consumer=self._channel.consumer,
                dependency=outage.dependency,
                error=outage.error,
            )
            return False
        original = self._transport.raw(self.msg)
        next_round = retry_round_of(original.headers) + 1
        permanent = self._is_permanent(exc_val)
        if isinstance(exc_val, SubscriberNotFound):
            target = "skipped"
        elif not permanent and next_round <= self._channel.retry.rounds:
            target = "retry"
        else:
            target = "dead-letter"
        now = self._clock()
        headers = {
            **original.headers,
            **fault_headers(
                exc_val,
                consumer=self._channel.consumer,
                channel=self._channel.source,
                original=original,
                now=now,
                attempts=max(self._attempts, 1),
                exhausted=not permanent and target == "dead-letter",
            ),
        }
        try:
            await self._route(
                target,
                original=original,
                headers=headers,
                next_round=next_round,
                now=now,
                error=exc_val,
            )
        except Exception as error:
            # Not acked: the broker delivers the message again once it (or the database
            # holding the aggregate's hold) answers, and the policy starts over.
            _log.warning(
                "failure not routed; the broker delivers the message again",
                consumer=self._channel.consumer,
                target=target,
                error=f"{type(error).__name__}: {error}",
            )
            raise
        _log.warning(
            "message redelivery scheduled" if target == "retry" else "message dead-lettered",
            consumer=self._channel.consumer,
            target=target,
            round=next_round if target == "retry" else None,
            reason=headers[f"{FAULT_PREFIX}reason"],
            error=headers[f"{FAULT_PREFIX}message"],
        )
        return True

    async def _route(
        self,
        target: str,
        *,
        original: RawMessage,
        headers: dict[str, str],
        next_round: int,
        now: datetime,
        error: Exception,
    ) -> None:
        """Hold the aggregate (ordered consumers), then send the copy where it goes."""
        if target != "skipped":
            await self._hold(original.headers, target)
        if target == "retry":
            delay = self._channel.retry.delay(next_round, self._random())
            headers[RETRY_ROUND] = str(next_round)
            headers[RETRY_NOT_BEFORE] = str(int((now.timestamp() + delay) * 1000))
            message = _copy(original.body, original.key, headers, original.content_type)
            await self._transport.send_for_retry(self._channel, next_round, message, delay)
            record_retry(self._channel.consumer, "delayed", error)
        else:
            channel = self._channel.skipped if target == "skipped" else self._channel.dead_letters
            message = _copy(original.body, original.key, headers, original.content_type)
            await self._transport.send_to_channel(channel, message)
            record_dead_letter(self._channel.consumer, headers[f"{FAULT_PREFIX}reason"])

    async def _defer(self, original: RawMessage, deferral: DeliveryDeferred) -> None:
        """Send the message back through a delay channel, its round kept (see
        :mod:`~commerce.platform.delivery.deferral`); raise (not acked) if not confirmed."""
        if not self._channel.retry_channels:
            raise RuntimeError(f"{self._channel.consumer} has no delay channel to defer to")
        deferrals = deferrals_of(original.headers)
        delay, round_number = deferral_schedule(self._channel.retry, deferral.delay, deferrals)
        headers = {
            **original.headers,
            RETRY_NOT_BEFORE: str(int((self._clock().timestamp() + delay) * 1000)),
            DEFERRED_BY: deferral.reason,
            DEFERRALS: str(deferrals + 1),
        }
        message = _copy(original.body, original.key, headers, original.content_type)
        await self._transport.send_for_retry(self._channel, round_number, message, delay)

    async def _hold(self, headers: dict[str, str], target: str) -> None:
        """Before the message leaves the line: hold its aggregate (ordered consumers)."""
        sequence = sequence_of(headers)
        if self._holds is None or sequence is None:
            return
        state = HoldState.RETRYING if target == "retry" else HoldState.DEAD_LETTERED
        await self._holds.hold(self._channel.consumer, sequence.key, sequence.message_id, state)


def _copy(
    body: bytes, key: str | None, headers: dict[str, str], content_type: str | None
) -> OutgoingMessage:
    return OutgoingMessage(body=body, key=key or "", headers=headers, content_type=content_type)


def failure_policy_middleware(
    *,
    channel: Consumer,
    transport: Transport,
    holds: SequenceHolds | None = None,
    guard: ConsumerGuard | None = None,
) -> Callable[..., BaseMiddleware]:
    """The middleware factory applying ``channel``'s retry policy.

    ``holds``: where an ordered consumer holds an aggregate behind a failed message.
    ``guard``: the consumer's kill switch; a confirmed outage leaves the message on the
    broker instead of retrying or dead-lettering it
    (:mod:`commerce.platform.resilience.consumer_guard`).
    """
    return partial(
        _FailurePolicyMiddleware,
        channel=channel,
        transport=transport,
        holds=holds,
        guard=guard,
        clock=lambda: datetime.now(UTC),
        unit_random=random.random,
    )
