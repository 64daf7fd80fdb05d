"""The fault event: a command dead-lettered for a technical reason, on the faults stream.

MassTransit's ``Fault<T>`` done our way: the sender of a command that will not be handled
learns which message failed, where and why, without its body, its stack or any secret
(see ``docs/adr/0020-command-fault-events.md``).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from commerce.platform.messaging.channels import FAULTS, EventStream
from commerce.platform.messaging.integration_event import IntegrationEvent

__all__ = ["CommandFaultedV1", "FaultReason"]

FaultReason = Literal[
    "retries-exhausted", "schema-invalid", "undecodable", "invalid-envelope", "handler-error"
]
"""The ``x-fault-reason`` values that are announced: technical failures of a command."""


class CommandFaultedV1(IntegrationEvent):
    """A command was dead-lettered for a technical reason: only an operator's replay runs it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "command_id": "01946a3b-6e12-7c4d-9a3e-5f1b2c3d4e5f",
                    "command_type": "commerce.identity.RegisterUser.v1",
                    "aggregate_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "tenant_id": "5b0e3c1a-7f0e-4d8e-9c1e-2a9e0f6c3d41",
                    "correlation_id": "01946a3b-6e12-7c4d-9a3e-5f1b2c3d4e5f",
                    "causation_id": None,
                    "reason": "schema-invalid",
                    "consumer": "commerce.identity.register-user",
                    "channel": "commerce.identity.register-user",
                    "attempts": 1,
                    "exception_type": "pydantic_core._pydantic_core.ValidationError",
                    "error_message": "1 validation error for RegisterUser",
                    "first_failed_at": "2025-01-15T09:30:00.412000Z",
                    "last_failed_at": "2025-01-15T09:30:00.412000Z",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.CommandFaulted.v1"
    stream: ClassVar[EventStream] = FAULTS

    command_id: UUID = Field(description="The faulted command's message id (`ce-id`).")
    command_type: str = Field(description="The faulted command's CloudEvents type.")
    aggregate_id: str | None = Field(
        description="The aggregate the command addressed (its `ce-subject`), if it named one."
    )
    tenant_id: UUID = Field(description="The command's tenant (`ce-tenantid`).")
    correlation_id: UUID = Field(
        description="The command's conversation (`ce-correlationid`, default: its id)."
    )
    causation_id: UUID | None = Field(
        description="The message that caused the command (`ce-causationid`), if known."
    )
    reason: FaultReason = Field(
        description="Why it was dead-lettered (`x-fault-reason`): `retries-exhausted` (a "
        "transient failure outlasted every retry), `schema-invalid`, `undecodable`, "
        "`invalid-envelope` (its CloudEvents headers are malformed) or `handler-error` (the "
        "handler failed in a way no retry can fix)."
    )
    consumer: str = Field(description="The consumer that gave up on it.")
    channel: str = Field(description="The channel it was read from.")
    attempts: int = Field(ge=0, description="How many times the handler ran it.")
    exception_type: str = Field(description="The qualified name of the last failure's type.")
    error_message: str = Field(
        max_length=200,
        description="The first line of the last failure's message, at most 200 characters, "
        "with every value quoted from the body and every known secret masked (`***`).",
    )
    first_failed_at: datetime = Field(description="When it first failed.")
    last_failed_at: datetime = Field(description="When it failed for the last time.")
