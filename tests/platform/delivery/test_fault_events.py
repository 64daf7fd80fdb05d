"""Which dead letters are announced as ``CommandFaulted``, and what the event carries.

Dead letters are built the way the failure policy and the archiver build them: the
command's envelope, ``fault_headers`` of a real error, then ``record_from``.
"""

import json
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from commerce.identity.messages.channels import REGISTER_USER, USER_DIRECTORY
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.delivery.dead_letter_store import DeadLetterRecord, record_from
from commerce.platform.delivery.fault_events import (
    ERROR_MESSAGE_LENGTH,
    FAULTED_REASONS,
    FaultAnnouncement,
    Unannounced,
    announcement_for,
    safe_error_message,
)
from commerce.platform.delivery.faults import fault_headers
from commerce.platform.messaging.channels import Consumer
from commerce.platform.messaging.envelope import (
    Envelope,
    EnvelopeError,
    HeaderStyle,
    MissingTenantError,
)
from commerce.platform.messaging.transport import RawMessage
from commerce.platform.observability.redaction import Redactor

pytestmark = pytest.mark.unit

FIRST = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
NOW = FIRST + timedelta(seconds=71)
TENANT = uuid4()
SUBJECT = "0f8fad5b-d9cb-469f-a165-70867728950e"


class _Card(BaseModel):
    number: int


def _schema_error(value: object) -> Exception:
    try:
        _Card.model_validate({"number": value})
    except Exception as error:
        return error
    raise AssertionError("unreachable")


def _command(
    style: HeaderStyle = HeaderStyle.RABBIT,
    *,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
) -> dict[str, str]:
    envelope = Envelope.new(
        type=RegisterUser.message_type,
        source="/tests",
        tenant_id=TENANT,
        subject=SUBJECT,
        correlation_id=correlation_id,
    )
    return replace(envelope, causation_id=causation_id).headers(style)


def _dead_letter(
    error: BaseException,
    headers: dict[str, str] | None = None,
    *,
    body: bytes = b'{"user_id": "nope"}',
    channel: Consumer = REGISTER_USER,
    exhausted: bool = False,
) -> DeadLetterRecord:
    original = RawMessage(channel.source, SUBJECT, body, headers or _command(), None)
    first = {"x-fault-first-failure-at": FIRST.isoformat(), "x-fault-attempts": "3"}
    earlier = replace(original, headers=original.headers | first) if exhausted else original
    faults = fault_headers(
        error,
        consumer=channel.consumer,
        channel=channel.source,
        original=earlier,
        now=NOW,
        attempts=3 if exhausted else 1,
        exhausted=exhausted,
    )
    raw = replace(original, headers=original.headers | faults)
    return record_from(
        raw, consumer=channel.consumer, channel=channel.source, now=NOW, key_is_aggregate=False
    )


def _announced(record: DeadLetterRecord, channel: Consumer = REGISTER_USER) -> FaultAnnouncement:
    announcement = announcement_for(record, channel, redact=Redactor().text)
    assert isinstance(announcement, FaultAnnouncement), announcement
    return announcement


def test_the_announced_reasons_are_every_technical_reason_the_failure_policy_writes() -> None:
    written = {
        _dead_letter(error, exhausted=exhausted).reason
        for error, exhausted in [
            (MissingTenantError("no tenant"), False),
            (EnvelopeError("bad time"), False),
            (json.JSONDecodeError("Expecting value", "x", 0), False),
            (_schema_error("x"), False),
            (ConnectionError("down"), False),
            (ConnectionError("down"), True),
        ]
    }
    assert written == FAULTED_REASONS | {"missing-tenant"}, "no tenant: nobody to tell"


def test_a_schema_invalid_command_is_announced_with_its_identity_lineage_and_failure() -> None:
    causation, correlation = uuid4(), uuid4()
    headers = _command(causation_id=causation, correlation_id=correlation)
    announcement = _announced(_dead_letter(_schema_error("x"), headers))
    event = announcement.event
    command_id = UUID(headers["ce-id"])
    assert (event.command_id, event.command_type) == (command_id, RegisterUser.message_type)
    assert (event.tenant_id, event.aggregate_id) == (TENANT, SUBJECT)
    assert (event.correlation_id, event.causation_id) == (correlation, causation)
    assert (event.reason, event.attempts) == ("schema-invalid", 1)
    assert (event.consumer, event.channel) == (REGISTER_USER.consumer, REGISTER_USER.name)
    assert event.exception_type == "pydantic_core._pydantic_core.ValidationError"
    assert event.error_message == "1 validation error for _Card"
    assert event.first_failed_at == event.last_failed_at == NOW
    assert announcement.subject == SUBJECT
    context = announcement.context
    assert (context.message_id, context.correlation_id) == (command_id, correlation)
    assert context.tenant_id.value == TENANT, "the event is the command's tenant's"


def test_exhausted_retries_are_announced_with_every_attempt_since_the_first_failure() -> None:
    event = _announced(_dead_letter(ConnectionError("down"), exhausted=True)).event
    assert (event.reason, event.attempts) == ("retries-exhausted", 6)
    assert (event.first_failed_at, event.last_failed_at) == (FIRST, NOW)
    assert event.exception_type == "builtins.ConnectionError"


def test_an_invalid_envelope_whose_id_type_and_tenant_are_readable_is_announced() -> None:
    headers = _command() | {"ce-specversion": "0.3", "ce-time": "yesterday"}
    event = _announced(_dead_letter(EnvelopeError("unsupported specversion"), headers)).event
    assert (event.reason, event.command_id) == ("invalid-envelope", UUID(headers["ce-id"]))


def test_a_command_without_correlation_or_subject_is_its_own_conversation_and_key() -> None:
    headers = {k: v for k, v in _command(HeaderStyle.KAFKA).items() if k != "ce_subject"}
    headers.pop("ce_correlationid")
    announcement = _announced(_dead_letter(_schema_error("x"), headers))
    command_id = UUID(headers["ce_id"])
    assert announcement.event.correlation_id == command_id
    assert announcement.event.causation_id is None
    assert announcement.event.aggregate_id is None
    assert announcement.subject == str(command_id)


@pytest.mark.parametrize(
    ("record", "channel", "why"),
    [
        (_dead_letter(ConnectionError("down")), USER_DIRECTORY, "event consumer"),
        (_dead_letter(MissingTenantError("no tenant")), REGISTER_USER, "'missing-tenant'"),
        (
            replace(_dead_letter(ConnectionError("x")), reason="no-handler"),
            REGISTER_USER,
            "'no-handler'",
        ),
        (replace(_dead_letter(ConnectionError("x")), reason="unknown"), REGISTER_USER, "unknown"),
        (
            _dead_letter(EnvelopeError("bad id"), _command() | {"ce-id": "not-a-uuid"}),
            REGISTER_USER,
            "id or type is unreadable",
        ),
        (
            _dead_letter(EnvelopeError("no type"), _command() | {"ce-type": ""}),
            REGISTER_USER,
            "id or type is unreadable",
        ),
        (
            _dead_letter(EnvelopeError("bad"), _command() | {"ce-tenantid": "acme"}),
            REGISTER_USER,
            "no readable tenant",
        ),
    ],
    ids=[
        "projection",
        "missing-tenant",
        "no-handler",
        "no-reason",
        "unreadable-id",
        "no-type",
        "unreadable-tenant",
    ],
)
def test_dead_letters_with_nobody_to_tell_are_not_announced(
    record: DeadLetterRecord, channel: Consumer, why: str
) -> None:
    announcement = announcement_for(record, channel, redact=Redactor().text)
    assert isinstance(announcement, Unannounced)
    assert why in announcement.why


def test_the_error_message_is_one_short_line_without_secrets_or_body_values() -> None:
    redactor = Redactor()
    redactor.register(["s3cr3t-api-key"])
    message = (
        "cannot reach postgresql://app:pa55word@db/commerce with s3cr3t-api-key "
        "for ada@example.com" + " and more" * 40 + "\nTraceback (most recent call last): ..."
    )
    safe = safe_error_message(message, b'{"email": "ada@example.com"}', redact=redactor.text)
    assert safe.startswith("cannot reach postgresql://app:***@db/commerce with *** for *** and")
    assert len(safe) == ERROR_MESSAGE_LENGTH
    assert safe.endswith("…")
    assert "Traceback" not in safe


def test_a_body_that_is_not_json_is_masked_word_by_word() -> None:
    body = b"card=4111111111111111&cvv=123\xff"
    safe = safe_error_message("cannot read card=4111111111111111&cvv", body, redact=str)
    assert safe == "cannot read ***=***&cvv", "its words are masked, field names too"


_TOKENS = st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=24)


@given(values=st.lists(st.text(min_size=4, max_size=40), min_size=1, max_size=5), secret=_TOKENS)
def test_a_fault_event_never_carries_the_body_the_stack_or_a_secret(
    values: list[str], secret: str
) -> None:
    password = f"Pw-{secret}"
    body = json.dumps({f"field{n}": value for n, value in enumerate(values)} | {"pw": password})
    error = ValueError(f"{' '.join(values)} rejected {password} {values!r}")
    record = _dead_letter(error, body=body.encode())
    stack = f"Traceback (most recent call last):\n  {password} in frame\nSTACK-{secret}"
    record = replace(record, stack=stack, headers=record.headers | {"x-fault-stack": stack})
    event = _announced(record).event
    carried = event.model_dump_json()
    assert password not in carried
    assert f"STACK-{secret}" not in carried
    assert not [value for value in values if value in event.error_message]
    assert len(event.error_message) <= ERROR_MESSAGE_LENGTH
