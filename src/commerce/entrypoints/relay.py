"""The outbox relay process: publishes committed outbox rows until SIGTERM/SIGINT."""

import asyncio
import contextlib
import signal

import structlog

from commerce.bootstrap.relay import build_relay_process
from commerce.bootstrap.wiring import serve_relay_metrics
from commerce.config import Settings
from commerce.platform.messaging.transport import Transport

__all__ = ["run_relay"]

_log = structlog.get_logger("commerce.relay")


async def _started_unless_stopped(transport: Transport, stop: asyncio.Event) -> bool:
    """Start the broker, retrying until it runs; False if ``stop`` came first."""
    transport.keep_starting()
    starting = asyncio.create_task(transport.broker.start(), name="broker-start")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if starting.done():
        starting.result()
        return True
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    return False


async def run_relay(settings: Settings) -> None:
    """Connect the broker (retrying until it answers), relay until a stop signal, then
    finish the current batch."""
    process = build_relay_process(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stop_metrics = None
    try:
        if not await _started_unless_stopped(process.transport, stop):
            return
        stop_metrics = serve_relay_metrics(settings)
        _log.info(
            "relay started",
            transport=process.transport.style.name.lower(),
            metrics_port=settings.relay.metrics_port,
        )
        await process.relay.run(stop)
    finally:
        if stop_metrics is not None:
            stop_metrics()
        await process.transport.broker.stop()
        await process.close()
        _log.info("relay stopped")
