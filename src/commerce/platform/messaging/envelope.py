"""CloudEvents 1.0 binary-mode envelope for RabbitMQ and Kafka.

Attributes travel as headers: ``ce-<name>`` on RabbitMQ (the AMQP ``content_type``
property carries ``datacontenttype``) and ``ce_<name>`` on Kafka (``content-type``
header carries it). Extensions ``tenantid``, ``correlationid`` and ``causationid`` travel
the same way; W3C ``traceparent``/``tracestate`` travel unprefixed. The body is the JSON
payload only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from commerce.platform.kit.ids import new_uuid7

__all__ = [
    "CONTENT_TYPE",
    "SPEC_VERSION",
    "Envelope",
    "EnvelopeError",
    "HeaderStyle",
    "MissingTenantError",
    "message_type_of",
    "parse_envelope",
]

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_TRACE_HEADERS = ("traceparent", "tracestate")


class HeaderStyle(StrEnum):
    """The CloudEvents protocol binding: header prefix per transport."""

    RABBIT = "ce-"
    KAFKA = "ce_"


class EnvelopeError(ValueError):
    """The message's CloudEvents headers are missing or malformed."""


class MissingTenantError(EnvelopeError):
    """The message carries no valid ``tenantid``: it cannot be processed by anyone."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """The CloudEvents attributes of one message (everything but its payload)."""

    id: UUID
    type: str
    source: str
    time: datetime
    tenant_id: UUID
    correlation_id: UUID
    causation_id: UUID | None = None
    subject: str | None = None
    aggregate_version: int | None = None
    """Extension ``aggregateversion``: the event's version within its aggregate (events)."""
    content_type: str = CONTENT_TYPE
    traceparent: str | None = None
    tracestate: str | None = None

    @classmethod
    def new(
        cls,
        *,
        type: str,
        source: str,
        tenant_id: UUID,
        subject: str | None = None,
        correlation_id: UUID | None = None,
    ) -> Envelope:
        """A fresh envelope starting a new conversation (its own correlation id)."""
        message_id = new_uuid7()
        return cls(
            id=message_id,
            type=type,
            source=source,
            time=datetime.now(UTC),
            tenant_id=tenant_id,
            correlation_id=correlation_id or message_id,
            subject=subject,
        )

    def caused(self, *, message_id: UUID, type: str, source: str, subject: str) -> Envelope:
        """The envelope of a message this one caused: same correlation, causation = us."""
        return replace(
            self,
            id=message_id,
            type=type,
            source=source,
            time=datetime.now(UTC),
            causation_id=self.id,
            subject=subject,
        )

    def headers(self, style: HeaderStyle) -> dict[str, str]:
        """Binary-mode headers for ``style`` (RabbitMQ leaves the content type out)."""
        attributes: dict[str, str | None] = {
            "specversion": SPEC_VERSION,
            "id": str(self.id),
            "source": self.source,
            "type": self.type,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "subject": self.subject,
            "tenantid": str(self.tenant_id),
            "correlationid": str(self.correlation_id),
            "causationid": str(self.causation_id) if self.causation_id else None,
            "aggregateversion": (
                str(self.aggregate_version) if self.aggregate_version is not None else None
            ),
        }
        headers = {f"{style}{k}": v for k, v in attributes.items() if v is not None}
        if style is HeaderStyle.KAFKA:
            headers["content-type"] = self.content_type
        for name in _TRACE_HEADERS:
            if (value := getattr(self, name)) is not None:
                headers[name] = value
        return headers


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def _uuid(attributes: Mapping[str, str], name: str, error: type[EnvelopeError]) -> UUID:
    raw = attributes.get(name)
    if not raw:
        raise error(f"missing CloudEvents attribute {name!r}")
    try:
        return UUID(raw)
    except ValueError:
        raise error(f"CloudEvents attribute {name!r} is not a UUID: {raw[:64]!r}") from None


def _version(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise EnvelopeError(f"CloudEvents attribute 'aggregateversion' is not >= 1: {raw[:32]!r}")
    return int(raw)


def message_type_of(headers: Mapping[str, object]) -> str | None:
    """The CloudEvents ``type`` in ``ce-type`` or ``ce_type``, without checking anything else.

    For routing a message to its handler before the envelope is validated.
    """
    for name, value in headers.items():
        if name.lower() in ("ce-type", "ce_type"):
            return _text(value)
    return None


def parse_envelope(headers: Mapping[str, object], content_type: str | None = None) -> Envelope:
    """Read the envelope from ``ce-`` (RabbitMQ) or ``ce_`` (Kafka) headers.

    Raises :class:`MissingTenantError` without a valid ``tenantid`` and
    :class:`EnvelopeError` for any other missing or malformed attribute.
    """
    attributes: dict[str, str] = {}
    plain: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(("ce-", "ce_")):
            attributes[lowered[3:]] = _text(value)
        else:
            plain[lowered] = _text(value)
    if attributes.get("specversion") != SPEC_VERSION:
        raise EnvelopeError(
            f"unsupported CloudEvents specversion {attributes.get('specversion')!r}"
        )
    for required in ("type", "source"):
        if not attributes.get(required):
            raise EnvelopeError(f"missing CloudEvents attribute {required!r}")
    message_id = _uuid(attributes, "id", EnvelopeError)
    tenant_id = _uuid(attributes, "tenantid", MissingTenantError)
    time_text = attributes.get("time")
    try:
        time = datetime.fromisoformat(time_text) if time_text else datetime.now(UTC)
    except ValueError:
        raise EnvelopeError(
            f"CloudEvents attribute 'time' is not RFC 3339: {time_text!r}"
        ) from None
    if time.tzinfo is None:
        raise EnvelopeError("CloudEvents attribute 'time' has no UTC offset")
    return Envelope(
        id=message_id,
        type=attributes["type"],
        source=attributes["source"],
        time=time,
        tenant_id=tenant_id,
        correlation_id=(
            _uuid(attributes, "correlationid", EnvelopeError)
            if attributes.get("correlationid")
            else message_id
        ),
        causation_id=(
            _uuid(attributes, "causationid", EnvelopeError)
            if attributes.get("causationid")
            else None
        ),
        subject=attributes.get("subject"),
        aggregate_version=_version(attributes.get("aggregateversion")),
        content_type=content_type or plain.get("content-type") or CONTENT_TYPE,
        traceparent=plain.get("traceparent"),
        tracestate=plain.get("tracestate"),
    )
