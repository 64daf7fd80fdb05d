"""Stopping a worker (what SIGTERM does) lets in-flight messages finish and be acked."""

import asyncio
from uuid import uuid4

import pytest

from commerce.bootstrap.service import Service, build_service
from commerce.identity.messages.commands import RegisterUser
from commerce.identity.subscribers import CurrentEnvelope
from commerce.platform.messaging.channels import CommandChannel, RetryPolicy
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from tests.support.brokers import probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.worker import settings_for

pytestmark = pytest.mark.integration

SLOW = CommandChannel(
    name="tests.slow-command",
    description="A command whose handler takes a while.",
    retry=RetryPolicy(immediate=0, rounds=1, initial_delay=0.5),
)


async def test_in_flight_work_completes_and_is_not_redelivered_after_stop(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    started, finished = asyncio.Event(), asyncio.Event()
    deliveries: list[str] = []
    marker_seen = asyncio.Event()

    async def slow(body: RegisterUser, envelope: CurrentEnvelope) -> None:
        deliveries.append(body.email)
        if body.email == "marker@example.com":
            marker_seen.set()
            return
        started.set()
        await asyncio.sleep(1.5)
        finished.set()

    async def start_worker() -> Service:
        service = build_service(settings)
        router = service.transport.router()
        service.command_subscriber(router, SLOW)(slow)
        service.transport.broker.include_router(router)  # type: ignore[arg-type]
        await service.transport.broker.start()
        return service

    probe = await probe_for(settings)
    style = HeaderStyle.KAFKA if broker_url.startswith("kafka") else HeaderStyle.RABBIT
    envelope = Envelope.new(type=RegisterUser.message_type, source="/tests", tenant_id=uuid4())

    def body(email: str) -> bytes:
        return RegisterUser(
            user_id=uuid4(), email=email, display_name="S", password="correct horse b"
        ).wire_body()

    headers = envelope.headers(style) | {"content-type": "application/json"}
    try:
        first = await start_worker()
        await probe.send_command(SLOW.name, body("slow@example.com"), headers, "k")
        await asyncio.wait_for(started.wait(), 30)
        await first.transport.broker.stop()
        assert finished.is_set(), "stop waited for the in-flight handler"
        await first.close()
        second = await start_worker()
        # Same key, same queue/partition: a redelivery of the first would come before this.
        marker = Envelope.new(type=RegisterUser.message_type, source="/tests", tenant_id=uuid4())
        marker_headers = marker.headers(style) | {"content-type": "application/json"}
        await probe.send_command(SLOW.name, body("marker@example.com"), marker_headers, "k")
        await asyncio.wait_for(marker_seen.wait(), 30)
        await second.transport.broker.stop()
        await second.close()
    finally:
        await probe.close()
    assert deliveries == ["slow@example.com", "marker@example.com"], (
        "the in-flight message was acked before the worker stopped, so never redelivered"
    )
