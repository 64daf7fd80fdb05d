"""Every domain event names its versioned type, consistently with the published contract."""

import re

import pytest

from commerce.billing.domain import events as billing_events
from commerce.catalog.domain import events as catalog_events
from commerce.identity.domain import events as identity_events
from commerce.identity.domain.events import UserRegistered
from commerce.identity.messages.events import UserRegisteredV1
from commerce.orders.domain import events as order_events
from commerce.platform.kit.events import DomainEvent

pytestmark = pytest.mark.unit

_CONTEXT_OF = {
    identity_events: "identity",
    catalog_events: "catalog",
    order_events: "orders",
    billing_events: "billing",
}


def _concrete_events() -> list[tuple[str, type[DomainEvent]]]:
    found = []
    for module, context in _CONTEXT_OF.items():
        for name in module.__all__:
            value = getattr(module, name)
            if (
                isinstance(value, type)
                and issubclass(value, DomainEvent)
                and value is not DomainEvent
            ):
                found.append((context, value))
    return found


def test_every_context_module_exports_events() -> None:
    assert {context for context, _ in _concrete_events()} == set(_CONTEXT_OF.values())
    assert len(_concrete_events()) == 17


@pytest.mark.parametrize(
    ("context", "event"), _concrete_events(), ids=lambda v: getattr(v, "__name__", v)
)
def test_event_type_is_commerce_context_name_version(
    context: str, event: type[DomainEvent]
) -> None:
    assert re.fullmatch(rf"commerce\.{context}\.{event.__name__}\.v[1-9][0-9]*", event.event_type)


def test_event_types_are_unique() -> None:
    names = [event.event_type for _, event in _concrete_events()]
    assert len(names) == len(set(names))


def test_domain_and_integration_event_names_agree() -> None:
    assert UserRegistered.event_type == UserRegisteredV1.message_type
