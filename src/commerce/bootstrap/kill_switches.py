"""The consumers' kill switches, one per consumer, built from settings (docs/adr/0023)."""

from __future__ import annotations

from collections.abc import Mapping

from commerce.config import KillSwitchSettings
from commerce.platform.resilience.consumer_guard import ConsumerGuard
from commerce.platform.resilience.kill_switch import KillSwitchPolicy, SwitchState
from commerce.platform.resilience.probes import DependencyProbes, Probe

__all__ = ["KillSwitches"]


class KillSwitches:
    """Hands each consumer its guard, and tells which consumers are paused and why."""

    def __init__(self, settings: KillSwitchSettings, probes: Mapping[str, Probe]) -> None:
        self._settings = settings
        self._probes = DependencyProbes(probes, timeout_seconds=settings.probe_timeout_seconds)
        self._guards: dict[str, ConsumerGuard] = {}

    def guard(self, consumer: str) -> ConsumerGuard | None:
        """``consumer``'s kill switch (``None`` when kill switches are off)."""
        if not self._settings.enabled:
            return None
        if consumer not in self._guards:
            tuning = self._settings.tuning_for(consumer)
            policy = KillSwitchPolicy(**tuning.model_dump())
            self._guards[consumer] = ConsumerGuard(consumer, policy, self._probes)
        return self._guards[consumer]

    def paused(self) -> dict[str, str]:
        """Each paused consumer, with what it waits for."""
        return {
            consumer: guard.status()
            for consumer, guard in sorted(self._guards.items())
            if guard.state is SwitchState.PAUSED
        }

    async def close(self) -> None:
        """Stop every probe."""
        for guard in self._guards.values():
            await guard.close()
