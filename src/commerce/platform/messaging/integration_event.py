"""The base of integration events, shared by the per-context event modules."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from commerce.platform.messaging.channels import EventStream

__all__ = ["IntegrationEvent"]


class IntegrationEvent(BaseModel):
    """Base of integration events. Old versions stay parseable beside new ones."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_type: ClassVar[str]
    stream: ClassVar[EventStream]
