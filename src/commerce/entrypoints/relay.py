"""The outbox relay process: publishes committed outbox rows until SIGTERM/SIGINT."""

import asyncio
import signal

import structlog

from commerce.bootstrap import build_service, serve_relay_metrics
from commerce.config import Settings

__all__ = ["run_relay"]

_log = structlog.get_logger("commerce.relay")


async def run_relay(settings: Settings) -> None:
    """Connect the broker, relay until a stop signal, then finish the current batch."""
    service = build_service(settings)
    engine = service.relay_engine()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await service.transport.broker.start()
    stop_metrics = serve_relay_metrics(settings)
    _log.info(
        "relay started",
        transport=service.transport.style.name.lower(),
        metrics_port=settings.relay.metrics_port,
    )
    try:
        await service.relay(engine).run(stop)
    finally:
        if stop_metrics is not None:
            stop_metrics()
        await service.transport.broker.stop()
        await engine.dispose()
        await service.close()
        _log.info("relay stopped")
