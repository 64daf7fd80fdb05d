"""Alembic revisions of the service's Postgres schema, and helpers shared by them.

Revisions live directly in this package (``v<rev>_<slug>.py``): there is no ``versions/``
folder and no ``env.py``; :func:`commerce.platform.postgres.provisioning.migrate` plays the part of
``env.py`` (see ``docs/adr/0002-tenant-isolation-and-database-roles.md``). Alembic loads
every ``*.py`` file here except ``__init__.py`` as a revision, so helpers live in this file.

Revisions run as the owner role and grant table privileges to the app and relay roles, whose
names come from ``config.attributes`` (or ``-x app_role=... -x relay_role=...``).
"""

from dataclasses import dataclass

from alembic import context, op

from commerce.platform.postgres.provisioning import (
    DEFAULT_APP_ROLE,
    DEFAULT_RELAY_ROLE,
    quote_identifier,
    validate_identifier,
)

__all__ = ["TENANT_PREDICATE", "MigrationRoles", "enable_tenant_isolation", "roles"]

#: The row-level security predicate of every tenant table (USING and WITH CHECK).
#: ``NULLIF`` makes a transaction without a tenant (setting unset or reset to ``''``) see
#: no rows instead of failing the ``::uuid`` cast.
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"


@dataclass(frozen=True, slots=True)
class MigrationRoles:
    """Role names for ``GRANT`` statements, already validated and quoted."""

    app: str
    relay: str


def roles() -> MigrationRoles:
    """Return the app and relay role names configured for this migration run."""
    attributes = context.config.attributes
    x_args = context.get_x_argument(as_dictionary=True)
    app = attributes.get("app_role") or x_args.get("app_role") or DEFAULT_APP_ROLE
    relay = attributes.get("relay_role") or x_args.get("relay_role") or DEFAULT_RELAY_ROLE
    return MigrationRoles(
        app=quote_identifier(validate_identifier(str(app), kind="role")),
        relay=quote_identifier(validate_identifier(str(relay), kind="role")),
    )


def enable_tenant_isolation(table: str) -> None:
    """Turn on (and force) row-level security on ``table`` with the ``tenant_isolation`` policy."""
    name = quote_identifier(validate_identifier(table, kind="table"))
    op.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {name}"
        f" USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})"
    )
