"""The upcasters of this service's stored events (ADR 0011).

Stored events are never rewritten. When the stored form of an event changes, its type gets
the next version (``...OrderLineAdded.v2``), the codec decodes only the newest, and an
upcaster registered here turns each older payload into the newer shape as it is read. The
event store applies :data:`STORED_EVENT_UPCASTERS` on every read, in the unit of work and
in projection rebuilds alike.

History:

* ``commerce.orders.OrderLineAdded.v1`` → ``.v2``: the line also records the item's name
  when it was added (``item_name``), as it records the price. A v1 line has no name on
  record: ``item_name`` is ``None``.
"""

from __future__ import annotations

from commerce.platform.eventsourcing.streams import Payload, UpcasterRegistry

__all__ = ["STORED_EVENT_UPCASTERS"]


def _order_line_added_v1_to_v2(payload: Payload) -> Payload:
    """``OrderLineAdded.v1`` → ``.v2``: the same line, with no item name on record."""
    return {**payload, "item_name": None}


STORED_EVENT_UPCASTERS = UpcasterRegistry()
"""Every upcaster the event store applies on read."""
STORED_EVENT_UPCASTERS.bump("commerce.orders.OrderLineAdded.v1", _order_line_added_v1_to_v2)
