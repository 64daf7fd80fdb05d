"""The kill switch at work on one consumer: hold messages while paused, probe, come back.

The consumer's failure policy asks the guard about every failure
(:meth:`ConsumerGuard.outage_in`): an outage that a probe confirms is never retried, routed
to a retry round or dead-lettered; the message goes back to the broker untouched (nack,
or a Kafka seek), and the switch counts it. While the consumer is paused, a message that
arrives waits at :meth:`ConsumerGuard.admitted` (so the consumer takes no more than its
prefetch) and goes back to the broker after ``hold_seconds`` if the pause lasts; a paused
consumer thus leaves its queue alone, and the broker never sees a consumer that stopped
answering (RabbitMQ's consumer timeout, Kafka's poll interval). A background probe
resumes it, first at reduced concurrency (see :mod:`.kill_switch`).

Every change of state is logged and exported as ``commerce_consumer_state``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import structlog

from commerce.platform.observability.metrics_resilience import ConsumerState, set_consumer_state
from commerce.platform.resilience.kill_switch import KillSwitch, KillSwitchPolicy, SwitchState
from commerce.platform.resilience.outages import Outage, outage_of
from commerce.platform.resilience.probes import DependencyProbes

__all__ = ["ConsumerGuard", "ConsumerPausedError"]

_log = structlog.get_logger("commerce.kill_switch")
_METRIC_STATES: dict[SwitchState, ConsumerState] = {
    SwitchState.RUNNING: "running",
    SwitchState.RECOVERING: "recovering",
    SwitchState.PAUSED: "paused",
}


class ConsumerPausedError(ConnectionError):
    """A message met its consumer paused for an outage: it goes back to the broker."""

    def __init__(self, consumer: str, outage: Outage | None) -> None:
        self.dependency = outage.dependency if outage is not None else "network"
        super().__init__(f"{consumer} is paused: {self.dependency} is down")


class ConsumerGuard:
    """One consumer's kill switch, its admission of messages and its probe."""

    def __init__(
        self,
        consumer: str,
        policy: KillSwitchPolicy,
        probes: DependencyProbes,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.consumer = consumer
        self._probes = probes
        self._clock = clock
        self._switch = KillSwitch(policy, now=clock())
        self._in_flight = 0
        self._changed = asyncio.Condition()
        self._prober: asyncio.Task[None] | None = None
        set_consumer_state(consumer, "running")

    @property
    def state(self) -> SwitchState:
        """Running, paused or recovering."""
        return self._switch.state

    def status(self) -> str:
        """``ok`` when running, else what the consumer is doing and why (for ``/ready``)."""
        switch = self._switch
        if switch.state is SwitchState.RUNNING:
            return "ok"
        cause = (
            f"{switch.outage.dependency} outage ({switch.outage.error})" if switch.outage else ""
        )
        return f"{switch.state.value} since {switch.since.isoformat()}: {cause}".rstrip(": ")

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Wait for a turn; raise :class:`ConsumerPausedError` if paused past the hold.

        A running consumer admits at once, without touching the condition (the hot path).
        """
        if not self._may_start():
            async with self._changed:
                try:
                    async with asyncio.timeout(self._switch.policy.hold_seconds):
                        await self._changed.wait_for(self._may_start)
                except TimeoutError:
                    raise ConsumerPausedError(self.consumer, self._switch.outage) from None
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._switch.concurrency is not None:  # a message may wait for this turn
                async with self._changed:
                    self._changed.notify_all()

    def _may_start(self) -> bool:
        limit = self._switch.concurrency
        return limit is None or self._in_flight < limit

    async def succeeded(self) -> None:
        """A message was handled."""
        if self._switch.succeeded(now=self._clock()):
            await self._state_changed()

    async def outage_in(self, error: BaseException) -> Outage | None:
        """The outage behind ``error`` if a probe confirms it (then counted), else ``None``."""
        outage = outage_of(error)
        if outage is None:
            self._switch.failed_otherwise()
            return None
        if isinstance(error, ConsumerPausedError):
            return outage
        if self._switch.state is not SwitchState.PAUSED:
            silent = await self._probes.silent(outage.dependency)
            if not silent:
                self._switch.failed_otherwise()  # the dependency is fine: the message's failure
                return None
            outage = Outage(silent[0], outage.error)
        if self._switch.failed_by_outage(outage, now=self._clock()):
            await self._state_changed()
        return outage

    async def _state_changed(self) -> None:
        switch = self._switch
        state = switch.state.value
        dependency = switch.outage.dependency if switch.outage else None
        set_consumer_state(self.consumer, _METRIC_STATES[switch.state], paused_by=dependency)
        if switch.state is SwitchState.PAUSED:
            _log.warning(
                "consumer paused: its messages stay on the broker until the dependency answers",
                consumer=self.consumer,
                dependency=dependency,
                error=switch.outage.error if switch.outage else None,
            )
            if self._prober is None or self._prober.done():
                self._prober = asyncio.create_task(self._probe(), name=f"probe {self.consumer}")
        else:
            _log.info(
                f"consumer {state}",
                consumer=self.consumer,
                concurrency=switch.concurrency,
                after_outage_of=dependency,
            )
        async with self._changed:
            self._changed.notify_all()

    async def _probe(self) -> None:
        """Probe the dependency of a paused consumer until it answers."""
        while self._switch.state is SwitchState.PAUSED:
            await asyncio.sleep(self._switch.policy.probe_interval_seconds)
            outage = self._switch.outage
            silent = await self._probes.silent(outage.dependency if outage else "network")
            if not silent and self._switch.dependencies_answered(now=self._clock()):
                await self._state_changed()

    async def close(self) -> None:
        """Stop probing (the worker is shutting down)."""
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
