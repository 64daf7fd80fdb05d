"""The rejection event: a command refused by a business rule, on the rejections stream."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field

from commerce.platform.messaging.channels import REJECTIONS, EventStream
from commerce.platform.messaging.integration_event import IntegrationEvent

__all__ = ["CommandRejectedV1"]


class CommandRejectedV1(IntegrationEvent):
    """A command was refused by a business rule or a rate limit; it will not be retried."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "command_id": "01946a3b-6e12-7c4d-9a3e-5f1b2c3d4e5f",
                    "command_type": "commerce.identity.RegisterUser.v1",
                    "aggregate_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "reason_code": "email_already_registered",
                    "reason": "ada@example.com is already registered in this tenant",
                    "rejected_at": "2025-01-15T09:30:00.412000Z",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.CommandRejected.v1"
    stream: ClassVar[EventStream] = REJECTIONS

    command_id: UUID = Field(description="The rejected command's message id (`ce-id`).")
    command_type: str = Field(description="The rejected command's CloudEvents type.")
    aggregate_id: str = Field(description="The aggregate the command addressed.")
    reason_code: str = Field(description="Stable, machine-readable code of the broken rule.")
    reason: str = Field(description="Human-readable explanation.")
    rejected_at: datetime = Field(description="When the command was refused.")
    retry_after_seconds: float | None = Field(
        default=None,
        ge=0,
        description=(
            "Seconds after which the same command may be accepted if sent again (reason"
            " `rate-limited`: over the tenant's or sender's rate limit); absent or null when"
            " sending it again will not help."
        ),
    )
