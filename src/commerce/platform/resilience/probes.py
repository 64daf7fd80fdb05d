"""Asking whether the service's dependencies answer, without a storm of probes.

When Postgres goes down, every message in flight fails at once; each asks whether its
failure is an outage. One probe per dependency runs at a time, and its answer is reused
for ``fresh_for`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog

__all__ = ["DependencyProbes", "Probe"]

type Probe = Callable[[], Awaitable[None]]
"""Returns when the dependency answers; raises (or hangs past the timeout) when it does not."""

_log = structlog.get_logger("commerce.probes")


class DependencyProbes:
    """The probes of a process's dependencies, by name (``postgres``, ``broker``, ...)."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        *,
        timeout_seconds: float = 2.0,
        fresh_for_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probes = dict(probes)
        self._timeout = timeout_seconds
        self._fresh_for = fresh_for_seconds
        self._monotonic = monotonic
        self._answers: dict[str, tuple[float, bool]] = {}
        self._running: dict[str, asyncio.Future[bool]] = {}

    async def silent(self, dependency: str) -> list[str]:
        """The dependencies that do not answer: ``dependency`` itself, or, for a name with
        no probe of its own (``network``), every probed one."""
        names = [dependency] if dependency in self._probes else list(self._probes)
        answers = await asyncio.gather(*(self._answer(name) for name in names))
        return [name for name, answered in zip(names, answers, strict=True) if not answered]

    async def _answer(self, name: str) -> bool:
        kept = self._answers.get(name)
        if kept is not None and self._monotonic() - kept[0] < self._fresh_for:
            return kept[1]
        running = self._running.get(name)
        if running is None:
            running = asyncio.ensure_future(self._probe(name))
            self._running[name] = running
        return await asyncio.shield(running)

    async def _probe(self, name: str) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                await self._probes[name]()
        except Exception as error:
            _log.debug("dependency does not answer", dependency=name, error=repr(error))
            answered = False
        else:
            answered = True
        finally:
            self._running.pop(name, None)
        self._answers[name] = (self._monotonic(), answered)
        return answered
