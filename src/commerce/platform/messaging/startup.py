"""Starting a broker that may not be there yet: retry until every subscriber runs.

A long-running process (the worker, the relay) must not give up, nor sit half-started,
when its broker is down or restarting while it starts: FastStream's own ``start`` raises
on the first failure and leaves the subscribers started so far running. Here a failed
attempt is logged, everything it opened is stopped, and the start is tried again after a
growing pause (0.5 s doubling up to 10 s) until it succeeds.
"""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

__all__ = ["StartRetries", "start_until_running"]

_log = structlog.get_logger(__name__)


class StartRetries:
    """Whether a broker's ``start`` retries until it runs (off: it raises at once).

    Off by default, so a one-shot command (``commerce publish``) fails fast with a clear
    error; the worker and the relay turn it on.
    """

    def __init__(self, *, first_pause: float = 0.5, longest_pause: float = 10.0) -> None:
        self.enabled = False
        self.first_pause = first_pause
        self.longest_pause = longest_pause

    async def run(
        self,
        start: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]],
        *,
        what: str,
    ) -> None:
        """Run ``start``, retrying as configured; ``stop`` undoes a failed attempt."""
        if not self.enabled:
            await start()
            return
        await start_until_running(
            start, stop, what=what, first_pause=self.first_pause, longest_pause=self.longest_pause
        )


async def start_until_running(
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    *,
    what: str,
    first_pause: float = 0.5,
    longest_pause: float = 10.0,
) -> None:
    """Call ``start`` until it returns; after each failure call ``stop``, then pause.

    The pause doubles from ``first_pause`` up to ``longest_pause``. Cancellation (a stop
    signal during start-up) ends the loop at once.
    """
    pause = first_pause
    attempt = 1
    while True:
        try:
            await start()
        except Exception as error:
            _log.error(
                "start failed; retrying",
                component=what,
                attempt=attempt,
                retry_in_seconds=pause,
                error=str(error) or type(error).__name__,
                error_type=type(error).__name__,
            )
            try:
                await stop()
            except Exception as stop_error:
                _log.warning(
                    "stopping the failed start failed", component=what, error=repr(stop_error)
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest_pause)
            attempt += 1
            continue
        if attempt > 1:
            _log.info("started after retries", component=what, attempts=attempt)
        return
