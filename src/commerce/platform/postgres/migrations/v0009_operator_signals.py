"""Operator signals: the app role may count dead letters per consumer and status.

The worker shows ``commerce_dead_letters_unresolved{consumer}`` from the store itself
(:mod:`commerce.platform.delivery.operator_signals`). The app role could only insert into
``dead_letters``; it now may read the two columns a count needs, ``consumer`` and
``status``, and still no payload, header, error or tenant (see
``docs/adr/0022-operator-signals.md``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 00:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from commerce.platform.postgres.migrations import roles

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Grant the app role ``SELECT (consumer, status)`` on ``dead_letters``."""
    app = roles().app  # validated and quoted
    op.execute(f"GRANT SELECT (consumer, status) ON dead_letters TO {app}")


def downgrade() -> None:
    """Take the grant back: the app role may only insert dead letters again."""
    app = roles().app  # validated and quoted
    op.execute(f"REVOKE SELECT (consumer, status) ON dead_letters FROM {app}")  # noqa: S608
