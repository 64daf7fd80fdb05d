"""Domain errors: expected rule violations, never retried, reported to the sender."""

from __future__ import annotations

__all__ = [
    "AmountOutOfRange",
    "CurrencyMismatch",
    "DomainError",
    "DuplicateOrderLine",
    "EmailAlreadyRegistered",
    "EmptyOrder",
    "IllegalTransition",
    "InconsistentEventStream",
    "InsufficientStock",
    "InvalidEmail",
    "InvalidValue",
    "InvoiceAlreadySettled",
    "InvoiceNotFound",
    "ItemAlreadyExists",
    "ItemIsRetired",
    "ItemNotFound",
    "ItemNotOrderable",
    "NotFound",
    "OrderAlreadyExists",
    "OrderLineNotFound",
    "OrderNotFound",
    "PaymentAmountMismatch",
    "UserAlreadyExists",
    "UserCannotPlaceOrders",
    "UserInactive",
    "UserNotFound",
]


class DomainError(Exception):
    """A business rule refused the operation. ``code`` is stable and machine-readable."""

    code = "domain_error"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidValue(DomainError):
    """A value object was given a value outside its domain."""

    code = "invalid_value"


class InvalidEmail(InvalidValue):
    """The text is not a usable e-mail address."""

    code = "invalid_email"


class EmailAlreadyRegistered(DomainError):
    """Another user of the same tenant already registered this e-mail address."""

    code = "email_already_registered"


class UserAlreadyExists(DomainError):
    """A user with this id already exists."""

    code = "user_already_exists"


class CurrencyMismatch(InvalidValue):
    """Two amounts of different currencies were combined or compared."""

    code = "currency_mismatch"


class AmountOutOfRange(InvalidValue):
    """An amount does not fit in a signed 64-bit count of minor units."""

    code = "amount_out_of_range"


class UserInactive(DomainError):
    """The user account is deactivated; it can no longer be changed."""

    code = "user_inactive"


class UserCannotPlaceOrders(DomainError):
    """The customer may not place orders (deactivated, or without the customer role)."""

    code = "user_cannot_place_orders"


class ItemIsRetired(DomainError):
    """The catalogue item is retired: its price is frozen and it cannot be ordered."""

    code = "item_retired"


class InsufficientStock(DomainError):
    """The stock adjustment would take the stock below zero."""

    code = "insufficient_stock"


class ItemNotOrderable(DomainError):
    """The item cannot be put on an order (retired, or without a positive price)."""

    code = "item_not_orderable"


class IllegalTransition(DomainError):
    """The aggregate's current state does not allow the requested operation."""

    code = "illegal_transition"


class EmptyOrder(DomainError):
    """An order needs at least one line to be confirmed."""

    code = "empty_order"


class DuplicateOrderLine(DomainError):
    """The order already has a line for this item; remove it first to change it."""

    code = "duplicate_order_line"


class OrderLineNotFound(DomainError):
    """The order has no line for this item."""

    code = "order_line_not_found"


class InvoiceAlreadySettled(DomainError):
    """The invoice is paid: it cannot be voided or paid again (refunds are not in scope)."""

    code = "invoice_already_settled"


class PaymentAmountMismatch(DomainError):
    """The captured amount differs from the invoice amount (no partial payments)."""

    code = "payment_amount_mismatch"


class NotFound(DomainError):
    """The command addresses an aggregate this tenant does not have."""

    code = "not_found"


class UserNotFound(NotFound):
    """No user of this tenant has the id."""

    code = "user_not_found"


class ItemNotFound(NotFound):
    """No catalogue item of this tenant has the id."""

    code = "item_not_found"


class OrderNotFound(NotFound):
    """No order of this tenant has the id (a draft order does not exist yet)."""

    code = "order_not_found"


class InvoiceNotFound(NotFound):
    """No invoice of this tenant has the id."""

    code = "invoice_not_found"


class ItemAlreadyExists(DomainError):
    """A catalogue item with this id already exists."""

    code = "item_already_exists"


class OrderAlreadyExists(DomainError):
    """An order with this id was already placed."""

    code = "order_already_exists"


class InconsistentEventStream(Exception):
    """Events replayed out of order, for another aggregate, or in an impossible sequence.

    Not a :class:`DomainError`: a stream the aggregate recorded itself is always
    consistent, so this signals corrupted storage or a bug and must not be reported to a
    sender as a refused command.
    """
