"""Bad input never blocks a queue and is never lost: DLQ (or ``skipped``, for a type no
handler takes) with fault headers, as the worker's archiver stores it, on both transports,
while valid commands keep flowing."""

import json
from uuid import UUID, uuid4

import pytest
from cloudevents.core.bindings import kafka, rabbitmq
from cloudevents.core.formats.json import JSONFormat

from commerce.identity.messages.channels import REGISTER_USER, USERS
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from tests.support.brokers import Received, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.dead_letters import archived_dead_letters
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration

FAULT_HEADERS = {
    "x-fault-reason",
    "x-fault-exception-type",
    "x-fault-message",
    "x-fault-stack",
    "x-fault-consumer",
    "x-fault-channel",
    "x-fault-attempts",
    "x-fault-first-failure-at",
    "x-fault-last-failure-at",
}


def _style(broker_url: str) -> HeaderStyle:
    return HeaderStyle.KAFKA if broker_url.startswith("kafka") else HeaderStyle.RABBIT


def _command_headers(style: HeaderStyle, tenant: UUID, subject: str) -> dict[str, str]:
    envelope = Envelope.new(
        type=RegisterUser.message_type, source="/tests", tenant_id=tenant, subject=subject
    )
    return envelope.headers(style) | {"content-type": "application/json"}


def _valid_body(marker: str) -> bytes:
    return RegisterUser(
        user_id=uuid4(),
        email=f"{marker}@example.com",
        display_name="Ada",
        password="correct horse battery staple",
    ).wire_body()


async def test_invalid_messages_go_to_the_dlq_with_fault_headers_and_the_consumer_goes_on(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    style = _style(broker_url)
    subject = f"{style}subject"
    marker = uuid4().hex
    tenant = uuid4()
    settings = settings_for(provisioned_database, broker_url)
    probe = await probe_for(settings)
    try:
        await probe.watch(USERS.name, stream=True)
        async with running_worker(settings) as service, running_relay(service):
            bad = {
                "undecodable": (b"\xff\xfe{not json", _command_headers(style, tenant, marker)),
                "schema-invalid": (
                    json.dumps({"user_id": "nope", "email": 3}).encode(),
                    _command_headers(style, tenant, marker),
                ),
                "missing-tenant": (
                    _valid_body(uuid4().hex),
                    {
                        k: v
                        for k, v in _command_headers(style, tenant, marker).items()
                        if k != f"{style}tenantid"
                    },
                ),
                # Another command's type on this channel: set aside on `skipped` (where no
                # handler takes it) and archived beside the dead letters.
                "no-handler": (
                    _valid_body(uuid4().hex),
                    _command_headers(style, tenant, marker)
                    | {f"{style}type": "commerce.identity.ChangeProfile.v1"},
                ),
            }
            for body, headers in bad.values():
                await probe.send_command(REGISTER_USER.name, body, headers, key=marker)
            await probe.send_command(
                REGISTER_USER.name,
                _valid_body(marker),
                _command_headers(style, tenant, "valid-" + marker),
                key=marker,
            )

            dead = await archived_dead_letters(
                provisioned_database,
                REGISTER_USER.consumer,
                lambda m: m.headers.get(subject) == marker,
                count=len(bad),
            )
            events = await probe.collect(
                USERS.name,
                lambda m: json.loads(m.body).get("email") == f"{marker}@example.com",
                count=1,
            )
    finally:
        await probe.close()

    by_reason = {m.headers["x-fault-reason"]: m for m in dead}
    assert set(by_reason) == set(bad)
    for reason, message in by_reason.items():
        body, headers = bad[reason]
        assert message.body == body, "the original body is kept byte for byte"
        assert set(message.headers) >= FAULT_HEADERS
        assert message.headers["x-fault-consumer"] == REGISTER_USER.consumer
        assert message.headers["x-fault-channel"] == REGISTER_USER.name
        assert message.headers["x-fault-attempts"] == "1"
        for name, value in headers.items():
            if name != "content-type":
                assert message.headers[name] == value, "original headers are kept"
    assert "MissingTenantError" in by_reason["missing-tenant"].headers["x-fault-exception-type"]
    assert len(events) == 1, "the valid command after the bad ones was still processed"
    _assert_cloudevent(events[0], style, tenant)


def _assert_cloudevent(message: Received, style: HeaderStyle, tenant: UUID) -> None:
    """The CloudEvents SDK's own binding accepts the published event."""
    if style is HeaderStyle.KAFKA:
        event = kafka.from_binary(
            kafka.KafkaMessage(
                headers={k: v.encode() for k, v in message.headers.items()},
                key=message.key,
                value=message.body,
            ),
            JSONFormat(),
        )
    else:
        event = rabbitmq.from_binary(
            rabbitmq.RabbitMQMessage(
                headers=message.headers, content_type=message.content_type, body=message.body
            ),
            JSONFormat(),
        )
    assert event.get_type() == "commerce.identity.UserRegistered.v1"
    assert event.get_extension("tenantid") == str(tenant)
    assert event.get_data()["email"].endswith("@example.com")
