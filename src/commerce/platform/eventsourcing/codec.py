"""A codec between dataclass domain events and stored events (``NewEvent`` / ``RecordedEvent``).

The payload is the event's own fields as JSON, plus ``occurred_at``; the header fields
the store already keeps (tenant, aggregate id = stream id, version) are not repeated.
Field values are encoded by type: identifiers (a dataclass holding one ``UUID``
``value``, such as ``OrderId``) as the UUID text, :class:`~commerce.platform.kit.money.Money`
as ``{"amount", "currency"}``, enums by value, datetimes as ISO 8601 with their offset,
``str``/``int``/``bool`` as they are, and an optional field (``T | None``) as ``T`` or
``null``. Decoding reverses it from the dataclass's type hints,
so a new event type needs no code here, only a registration in the type map.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from commerce.platform.eventsourcing.streams import NewEvent, Payload, RecordedEvent
from commerce.platform.kit.errors import InconsistentEventStream
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import require_aware
from commerce.platform.kit.money import Money

__all__ = ["DataclassEventCodec"]

_HEADER = frozenset(field.name for field in dataclasses.fields(DomainEvent))
_OCCURRED_AT = "occurred_at"


def _is_identifier(kind: Any) -> bool:
    if not dataclasses.is_dataclass(kind):
        return False
    fields = dataclasses.fields(kind)
    return len(fields) == 1 and fields[0].name == "value"


def _optional(kind: Any) -> Any:
    """``T`` when ``kind`` is ``T | None``, else ``None``."""
    arguments = typing.get_args(kind)
    if typing.get_origin(kind) is types.UnionType and len(arguments) == 2:
        present = [argument for argument in arguments if argument is not type(None)]
        if len(present) == 1:
            return present[0]
    return None


def _or_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _encoder(kind: Any) -> Callable[[Any], Any]:
    if (inner := _optional(kind)) is not None:
        return _or_none(_encoder(inner))
    if kind is Money:
        return lambda money: {"amount": money.amount, "currency": money.currency}
    if isinstance(kind, type) and issubclass(kind, Enum):
        return lambda member: member.value
    if kind is datetime:
        return lambda moment: require_aware(moment).isoformat()
    if _is_identifier(kind):
        return lambda identifier: str(identifier.value)
    if kind in (str, int, bool):
        return lambda value: value
    raise TypeError(f"the event codec cannot encode fields of type {kind!r}")


def _decoder(kind: Any) -> Callable[[Any], Any]:
    if (inner := _optional(kind)) is not None:
        return _or_none(_decoder(inner))
    if kind is Money:
        return lambda data: Money(data["amount"], data["currency"])
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind
    if kind is datetime:
        return lambda text: require_aware(datetime.fromisoformat(text))
    if _is_identifier(kind):
        identifier: Callable[[UUID], Any] = kind
        return lambda text: identifier(UUID(text))
    if kind in (str, int, bool):
        return lambda value: kind(value) if isinstance(value, kind) else _wrong(kind, value)
    raise TypeError(f"the event codec cannot decode fields of type {kind!r}")


def _wrong(kind: type, value: object) -> Any:
    raise TypeError(f"expected {kind.__name__}, got {value!r}")


class DataclassEventCodec[E: DomainEvent]:
    """:class:`EventCodec` for the event classes of ``types``.

    ``types`` maps each versioned type name to its class (e.g. ``ORDER_EVENT_TYPES``). A
    stored event of another type, or whose payload does not fit, raises
    :class:`~commerce.platform.kit.errors.InconsistentEventStream`.
    """

    def __init__(self, types: Mapping[str, type[E]]) -> None:
        self._types = dict(types)
        self._fields: dict[type[E], dict[str, Any]] = {}
        for event_type, cls in self._types.items():
            if cls.event_type != event_type:
                raise ValueError(f"{cls.__name__} is {cls.event_type}, not {event_type}")
            hints = typing.get_type_hints(cls)
            own = [f.name for f in dataclasses.fields(cls) if f.name not in _HEADER]
            self._fields[cls] = {name: hints[name] for name in own}
            for kind in (*self._fields[cls].values(), datetime):
                _encoder(kind), _decoder(kind)  # refuse unsupported field types early

    def encode(self, event: E) -> NewEvent:
        """The versioned type and JSON payload of ``event``."""
        fields = self._fields.get(type(event))
        if fields is None:
            raise TypeError(f"{type(event).__name__} is not an event of this codec")
        payload: Payload = {
            name: _encoder(kind)(getattr(event, name)) for name, kind in fields.items()
        }
        payload[_OCCURRED_AT] = _encoder(datetime)(event.occurred_at)
        return NewEvent(event_type=event.event_type, payload=payload)

    def decode(self, event: RecordedEvent) -> E:
        """The domain event of a stored one; its header comes from the stored row."""
        cls = self._types.get(event.event_type)
        if cls is None:
            raise InconsistentEventStream(f"unknown event type {event.event_type!r}")
        payload = event.payload
        try:
            values = {
                name: _decoder(kind)(payload[name]) for name, kind in self._fields[cls].items()
            }
            occurred_at = _decoder(datetime)(payload[_OCCURRED_AT])
            return cls(
                tenant_id=event.tenant_id,
                aggregate_id=str(event.stream.id),
                version=event.version,
                occurred_at=occurred_at,
                **values,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InconsistentEventStream(
                f"cannot decode {event.event_type} v{event.version} of {event.stream}: {error!r}"
            ) from error
