"""Provisioned, migrated test databases (one per session, dropped afterwards)."""

from dataclasses import dataclass
from uuid import uuid4

from sqlalchemy.engine import make_url

from commerce.platform.postgres.provisioning import (
    DEFAULT_APP_ROLE,
    DEFAULT_OWNER_ROLE,
    DEFAULT_RELAY_ROLE,
    migrate,
    provision,
    role_dsn,
)

__all__ = ["ProvisionedDatabase", "provision_and_migrate", "unique_database_name"]


@dataclass(frozen=True)
class ProvisionedDatabase:
    """A provisioned database and the URLs of its roles."""

    admin_url: str  # superuser, connected to the test database
    name: str
    owner: str
    app_role: str
    relay_role: str
    owner_url: str
    app_url: str
    relay_url: str


async def provision_and_migrate(admin_url: str, name: str) -> ProvisionedDatabase:
    """Provision ``name`` with the default role names and migrate it to head."""
    # The passwords match the settings' defaults: roles are cluster-wide, and tests must
    # not lock a developer's local `make run` out of its own database.
    passwords = {"owner": DEFAULT_OWNER_ROLE, "app": DEFAULT_APP_ROLE, "relay": DEFAULT_RELAY_ROLE}
    await provision(
        admin_url,
        database=name,
        owner=DEFAULT_OWNER_ROLE,
        owner_password=passwords["owner"],
        app_role=DEFAULT_APP_ROLE,
        app_password=passwords["app"],
        relay_role=DEFAULT_RELAY_ROLE,
        relay_password=passwords["relay"],
    )
    db = ProvisionedDatabase(
        admin_url=make_url(admin_url).set(database=name).render_as_string(hide_password=False),
        name=name,
        owner=DEFAULT_OWNER_ROLE,
        app_role=DEFAULT_APP_ROLE,
        relay_role=DEFAULT_RELAY_ROLE,
        owner_url=role_dsn(
            admin_url, user=DEFAULT_OWNER_ROLE, password=passwords["owner"], database=name
        ),
        app_url=role_dsn(
            admin_url, user=DEFAULT_APP_ROLE, password=passwords["app"], database=name
        ),
        relay_url=role_dsn(
            admin_url, user=DEFAULT_RELAY_ROLE, password=passwords["relay"], database=name
        ),
    )
    await migrate(db.owner_url, app_role=db.app_role, relay_role=db.relay_role)
    return db


def unique_database_name() -> str:
    """A fresh database name for one test session."""
    return f"commerce_test_{uuid4().hex[:16]}"
