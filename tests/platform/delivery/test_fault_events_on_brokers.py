"""A command dead-lettered for a technical reason is announced once, on both transports, to
a consumer that knows only the committed AsyncAPI document: the channel's address from the
document's bindings, every header and the payload checked against the document's schemas.

The real path: a schema-invalid ``RegisterUser`` goes through the worker's failure policy
to the DLQ, the archiver stores it and stages ``CommandFaulted`` in the same transaction,
the relay publishes it. The dead letter then reaches the archiver a second time (as a
broker redelivery would bring it), and a message no handler takes is set aside; a last,
undecodable command of the same aggregate follows. Its event comes after everything the
ones before it caused (one aggregate: one partition, one outbox lane), so the events seen
until then are all there are.
"""

import json
from uuid import uuid4

import pytest

from commerce.identity.messages.channels import REGISTER_USER
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.messaging.command_faults import CommandFaultedV1
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from tests.support.asyncapi_reader import documented_message
from tests.support.brokers import probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.dead_letters import archived_dead_letters
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration

SECRET = "hunter2-correct-horse"


def _headers(style: HeaderStyle, envelope: Envelope) -> dict[str, str]:
    return envelope.headers(style) | {"content-type": "application/json"}


async def test_a_schema_invalid_command_is_announced_once_to_a_consumer_of_the_document(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    kafka = broker_url.startswith("kafka")
    style = HeaderStyle.KAFKA if kafka else HeaderStyle.RABBIT
    documented = documented_message(
        "kafka.yaml" if kafka else "rabbitmq.yaml", CommandFaultedV1.message_type
    )
    address = documented.kafka_topic() if kafka else documented.rabbit_exchange()["name"]
    subject, tenant = f"faulted-{uuid4().hex}", uuid4()

    def command() -> Envelope:
        return Envelope.new(
            type=RegisterUser.message_type, source="/tests", tenant_id=tenant, subject=subject
        )

    invalid, unhandled, undecodable = command(), command(), command()
    settings = settings_for(provisioned_database, broker_url)
    probe = await probe_for(settings)
    try:
        async with running_worker(settings) as service, running_relay(service):
            await service.declare_streams()  # as the worker does before it is ready
            await probe.watch(address, stream=True)
            body = json.dumps({"user_id": "nope", "email": 3, "password": SECRET}).encode()
            await probe.send_command(
                REGISTER_USER.name, body, _headers(style, invalid), key=subject
            )
            [letter] = await archived_dead_letters(
                provisioned_database,
                REGISTER_USER.consumer,
                lambda m: m.headers.get(f"{style}id") == str(invalid.id),
                count=1,
            )
            await probe.send_command(
                REGISTER_USER.dead_letters, letter.body, letter.headers, key=subject
            )
            other_type = {f"{style}type": "commerce.identity.ChangeProfile.v1"}
            await probe.send_command(
                REGISTER_USER.name, body, _headers(style, unhandled) | other_type, key=subject
            )
            await probe.send_command(
                REGISTER_USER.name, b"\xff{not json", _headers(style, undecodable), key=subject
            )
            # The relay publishes a row once no older transaction on the server is open:
            # other work on a shared Postgres may hold it back for a while.
            received = await probe.collect(
                address,
                lambda m: m.headers.get(f"{style}subject") == subject,
                count=2,
                timeout=60.0,
            )
    finally:
        await probe.close()

    payloads = [json.loads(message.body) for message in received]
    assert [(p["command_id"], p["reason"]) for p in payloads] == [
        (str(invalid.id), "schema-invalid"),
        (str(undecodable.id), "undecodable"),
    ], "one event per faulted command: none for the redelivery, none for the skipped one"
    for message, payload in zip(received, payloads, strict=True):
        assert documented.header_violations(message.headers) == []
        assert documented.payload_violations(payload) == []
    [fault, _] = received
    [payload, _] = payloads
    assert fault.headers[f"{style}type"] == CommandFaultedV1.message_type
    assert fault.headers[f"{style}causationid"] == str(invalid.id)
    assert fault.headers[f"{style}correlationid"] == str(invalid.correlation_id)
    assert fault.headers[f"{style}tenantid"] == payload["tenant_id"] == str(tenant)
    assert fault.key == subject, "routed / keyed by the command's aggregate"
    assert (payload["consumer"], payload["channel"]) == (REGISTER_USER.consumer,) * 2
    assert (payload["command_type"], payload["attempts"]) == (RegisterUser.message_type, 1)
    assert SECRET not in fault.body.decode(), "nothing of the command's body"
