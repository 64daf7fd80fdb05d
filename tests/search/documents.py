"""Item documents for the search tests."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from commerce.search.domain.documents import ItemDocument

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def item(
    name: str,
    *,
    version: int = 1,
    price: int = 1000,
    currency: str = "EUR",
    status: str = "active",
    item_id: UUID | None = None,
) -> ItemDocument:
    """A whole item document."""
    return ItemDocument(
        item_id=item_id or uuid4(),
        name=name,
        status=status,
        stock=5,
        price=price,
        currency=currency,
        updated_at=AT,
        version=version,
    )
