"""The worker: every subscriber, plus ``/health``, ``/ready`` and the AsyncAPI docs.

Run it with ``commerce run worker`` (or ``commerce run`` for worker and relay together).
"""

import asyncio
import contextlib
from typing import Any

import orjson
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.specification import AsyncAPI

from commerce.bootstrap.relay import build_relay, relay_engine
from commerce.bootstrap.service import Service, build_service
from commerce.bootstrap.signals import operator_signals
from commerce.bootstrap.wiring import configure_logging_from
from commerce.config import Settings, load_settings
from commerce.contract.asyncapi import asyncapi_factory, contract_document
from commerce.contract.docs_page import DocsAssets, default_assets_dir, docs_routes
from commerce.entrypoints.subscribers.routers import routers
from commerce.platform.messaging.startup import start_until_running
from commerce.platform.observability.metrics import exposition as metrics_exposition

__all__ = ["asyncapi_of", "create_worker", "include_routers", "worker_app"]


async def _nothing() -> None:
    """Nothing to undo after a failed attempt."""


def _json(payload: dict[str, Any], status: int) -> AsgiResponse:
    return AsgiResponse(orjson.dumps(payload), status, {"Content-Type": "application/json"})


def asyncapi_of(service: Service) -> AsyncAPI:
    """FastStream's AsyncAPI 3.0 view of the service; the published contract completes it
    (:func:`commerce.contract.asyncapi.contract_document`, served at ``/docs``)."""
    return asyncapi_factory(service)


def include_routers(service: Service) -> None:
    """Attach every context's router to the service's broker."""
    for router in routers(service):
        service.transport.broker.include_router(router)  # type: ignore[arg-type]


def create_worker(settings: Settings, *, with_relay: bool = False) -> AsgiFastStream:
    """Wire the worker app; ``with_relay`` also runs the outbox relay in-process.

    Background loops: the releaser of parked events, the cache's invalidation listener and
    the operator signals (always), and the relay (if asked). The broker's start retries
    until every subscriber runs, then the declaration of every event stream the service
    publishes retries until it succeeds; until both are done ``/ready`` answers 503 with
    ``consumers: starting``.
    """
    service = build_service(settings)
    service.transport.keep_starting()
    include_routers(service)
    stop = asyncio.Event()
    consuming = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    @get(include_in_schema=False)
    async def health(scope: Any) -> AsgiResponse:
        """The process is alive."""
        return _json({"status": "ok"}, 200)

    @get(include_in_schema=False)
    async def ready(scope: Any) -> AsgiResponse:
        """Consumers running and streams declared, database and broker reachable: 200,
        else 503 with reasons."""
        checks = {"consumers": "ok" if consuming.is_set() else "starting"}
        checks |= await service.readiness()
        ok = all(state == "ok" for state in checks.values())
        return _json(
            {"status": "ready" if ok else "unavailable", "checks": checks}, 200 if ok else 503
        )

    @get(include_in_schema=False)
    async def metrics(scope: Any) -> AsgiResponse:
        """Prometheus text exposition of the service's registry."""
        body, content_type = metrics_exposition()
        return AsgiResponse(body, 200, {"Content-Type": content_type})

    async def start_loops() -> None:
        await start_until_running(service.declare_streams, _nothing, what="event streams")
        consuming.set()
        tasks.append(asyncio.create_task(service.releaser().run(stop), name="parked-releaser"))
        listen = service.read_side.cache.listen(stop)
        tasks.append(asyncio.create_task(listen, name="cache-invalidations"))
        signals = operator_signals(settings, service.engine).run(stop)
        tasks.append(asyncio.create_task(signals, name="operator-signals"))
        if with_relay:
            engine = relay_engine(settings)
            relay = build_relay(settings, service.transport, engine, tracer=service.tracer)
            tasks.append(asyncio.create_task(relay.run(stop), name="outbox-relay"))

    async def stop_loops() -> None:
        consuming.clear()
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return AsgiFastStream(
        service.transport.broker,
        asgi_routes=[
            ("/health", health),
            ("/ready", ready),
            ("/metrics", metrics),
            *docs_routes(
                lambda: contract_document(service),
                DocsAssets(settings.http.docs_assets_dir or default_assets_dir()),
                title=settings.service_name,
            ),
        ],
        specification=asyncapi_of(service),
        after_startup=[start_loops],
        on_shutdown=[stop_loops],
        after_shutdown=[service.close],
        logger=None,
    )


def worker_app() -> AsgiFastStream:
    """ASGI factory for ``uvicorn --factory commerce.entrypoints.worker:worker_app``."""
    settings = load_settings()
    configure_logging_from(settings)
    return create_worker(settings, with_relay=settings.relay.embedded)
