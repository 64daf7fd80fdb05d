"""The outbox relay process: publishes committed outbox rows until SIGTERM/SIGINT."""

import asyncio
import contextlib
import signal

import structlog

from commerce.bootstrap.service import Service, build_service
from commerce.bootstrap.wiring import serve_relay_metrics
from commerce.config import Settings

__all__ = ["run_relay"]

_log = structlog.get_logger("commerce.relay")


async def _started_unless_stopped(service: Service, stop: asyncio.Event) -> bool:
    """Start the broker, retrying until it runs; False if ``stop`` came first."""
    service.transport.keep_starting()
    starting = asyncio.create_task(service.transport.broker.start(), name="broker-start")
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
    service = build_service(settings)
    engine = service.relay_engine()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stop_metrics = None
    try:
        if not await _started_unless_stopped(service, stop):
            return
        stop_metrics = serve_relay_metrics(settings)
        _log.info(
            "relay started",
            transport=service.transport.style.name.lower(),
            metrics_port=settings.relay.metrics_port,
        )
        await service.relay(engine).run(stop)
    finally:
        if stop_metrics is not None:
            stop_metrics()
        await service.transport.broker.stop()
        await engine.dispose()
        await service.close()
        _log.info("relay stopped")
