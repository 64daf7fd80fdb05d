"""Commands on the wire: the base of every command payload."""

from __future__ import annotations

from typing import ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
)

__all__ = ["Command"]


class Command(BaseModel):
    """Base of command payloads: strict, immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    message_type: ClassVar[str]
    """The CloudEvents ``type`` of the command, versioned."""

    also_accepts: ClassVar[tuple[str, ...]] = ()
    """Earlier versions of ``message_type`` whose payloads this model still parses: the
    command's channel takes them too, while any other type goes to its ``skipped``."""

    key_field: ClassVar[str] = ""
    """The field holding the id of the aggregate the command addresses."""

    def aggregate_key(self) -> str:
        """The aggregate id the command addresses (message key and ordering scope)."""
        if not self.key_field:
            raise NotImplementedError
        return str(getattr(self, self.key_field))

    def wire_body(self) -> bytes:
        """The JSON body to send, secrets included."""
        return self.model_dump_json(context={"wire": True}).encode()
