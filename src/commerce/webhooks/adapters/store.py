"""The webhook store on Postgres: each call its own short tenant transaction.

Delivery makes HTTP calls that may take the request timeout; no transaction or pooled
connection is held across one. Secrets are sealed with the
:class:`~commerce.webhooks.application.ports.SecretCipher`, bound to the endpoint id.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.engine import tenant_transaction
from commerce.webhooks.adapters.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)
from commerce.webhooks.application.ports import (
    DeliveryRequest,
    DeliveryStatus,
    RecordedAttempt,
    SecretCipher,
)
from commerce.webhooks.domain.endpoint import Endpoint, RetiredSecret
from commerce.webhooks.domain.event_filter import EventFilter
from commerce.webhooks.domain.outcomes import Attempt

__all__ = ["SqlWebhookStore"]

BODY_LIMIT = 20 * 1024


class SqlWebhookStore:
    """:class:`~commerce.webhooks.application.ports.WebhookStore` on the v0014 tables."""

    def __init__(self, engine: AsyncEngine, cipher: SecretCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    async def endpoint(self, tenant_id: TenantId, endpoint_id: UUID) -> Endpoint | None:
        """The endpoint with its secrets decrypted, or ``None``."""
        query = select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        async with tenant_transaction(self._engine, tenant_id.value) as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else self._endpoint_of(row)

    async def endpoints(self, tenant_id: TenantId) -> list[Endpoint]:
        """Every endpoint of the tenant, oldest first."""
        query = select(webhook_endpoints).order_by(webhook_endpoints.c.created_at)
        async with tenant_transaction(self._engine, tenant_id.value) as connection:
            rows = (await connection.execute(query)).all()
        return [self._endpoint_of(row) for row in rows]

    def _endpoint_of(self, row: Any) -> Endpoint:
        bound = row.id.bytes
        retired = tuple(
            RetiredSecret(
                self._cipher.decrypt(base64.b64decode(item["sealed"]), bound),
                datetime.fromisoformat(item["until"]),
            )
            for item in row.retired_secrets
        )
        return Endpoint(
            endpoint_id=row.id,
            tenant_id=TenantId(row.tenant_id),
            url=row.url,
            secret=self._cipher.decrypt(row.secret_sealed, bound),
            filter=EventFilter(tuple(row.event_types)),
            description=row.description,
            rate_limit=row.rate_limit,
            headers=dict(row.headers),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            retired=retired,
            failing_since=row.failing_since,
        )

    def _row(self, endpoint: Endpoint, now: datetime) -> dict[str, Any]:
        bound = endpoint.endpoint_id.bytes
        retired = [
            {
                "sealed": base64.b64encode(self._cipher.encrypt(old.secret, bound)).decode(),
                "until": old.until.isoformat(),
            }
            for old in endpoint.retired
        ]
        return {
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": list(endpoint.filter.patterns),
            "rate_limit": endpoint.rate_limit,
            "headers": endpoint.headers,
            "secret_sealed": self._cipher.encrypt(endpoint.secret, bound),
            "retired_secrets": retired,
            "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason,
            "failing_since": endpoint.failing_since,
            "updated_at": now,
        }

    async def save_endpoint(self, endpoint: Endpoint, now: datetime) -> None:
        """Insert the endpoint or update every column of it."""
        values = self._row(endpoint, now)
        statement = (
            insert(webhook_endpoints)
            .values(
                tenant_id=endpoint.tenant_id.value,
                id=endpoint.endpoint_id,
                version=1,
                created_at=now,
                **values,
            )
            .on_conflict_do_update(
                index_elements=[webhook_endpoints.c.id],
                set_={**values, "version": webhook_endpoints.c.version + 1},
            )
        )
        async with tenant_transaction(self._engine, endpoint.tenant_id.value) as connection:
            await connection.execute(statement)

    async def open_delivery(
        self, request: DeliveryRequest, now: datetime
    ) -> tuple[DeliveryStatus, int]:
        """The delivery's state, creating it ``pending`` the first time."""
        create = (
            insert(webhook_deliveries)
            .values(
                tenant_id=request.tenant_id.value,
                endpoint_id=request.endpoint_id,
                event_id=request.event_id,
                event_type=request.event_type,
                payload=request.payload,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
        )
        query = select(webhook_deliveries.c.status, webhook_deliveries.c.attempts).where(
            webhook_deliveries.c.endpoint_id == request.endpoint_id,
            webhook_deliveries.c.event_id == request.event_id,
        )
        async with tenant_transaction(self._engine, request.tenant_id.value) as connection:
            await connection.execute(create)
            row = (await connection.execute(query)).one()
        return DeliveryStatus(row.status), int(row.attempts)

    async def record(
        self, request: DeliveryRequest, recorded: RecordedAttempt, status: DeliveryStatus
    ) -> None:
        """Store the attempt and move the delivery to ``status`` in one transaction."""
        attempt = recorded.attempt
        row = {
            "tenant_id": request.tenant_id.value,
            "endpoint_id": request.endpoint_id,
            "event_id": request.event_id,
            "attempt": recorded.number,
            "status_code": attempt.status,
            "latency_ms": attempt.latency_ms,
            "response_body": attempt.body[:BODY_LIMIT],
            "error": attempt.error,
            "verdict": recorded.verdict,
            "attempted_at": recorded.at,
        }
        update = (
            webhook_deliveries.update()
            .where(
                webhook_deliveries.c.endpoint_id == request.endpoint_id,
                webhook_deliveries.c.event_id == request.event_id,
            )
            .values(status=status.value, attempts=recorded.number, updated_at=recorded.at)
        )
        async with tenant_transaction(self._engine, request.tenant_id.value) as connection:
            await connection.execute(webhook_attempts.insert().values(**row))
            await connection.execute(update)

    async def attempts(self, tenant_id: TenantId, endpoint_id: UUID) -> list[RecordedAttempt]:
        """The endpoint's attempts, oldest first (for ``commerce webhooks attempts``)."""
        query = (
            select(webhook_attempts)
            .where(webhook_attempts.c.endpoint_id == endpoint_id)
            .order_by(webhook_attempts.c.id)
        )
        async with tenant_transaction(self._engine, tenant_id.value) as connection:
            rows = (await connection.execute(query)).all()
        return [
            RecordedAttempt(
                row.attempt,
                Attempt(row.status_code, row.latency_ms, body=row.response_body, error=row.error),
                row.verdict,
                row.attempted_at,
            )
            for row in rows
        ]

    async def failed_since(
        self, tenant_id: TenantId, endpoint_id: UUID, since: datetime, after: str, limit: int
    ) -> list[DeliveryRequest]:
        """A page of the endpoint's failed deliveries since ``since``."""
        table = webhook_deliveries
        query = (
            select(table)
            .where(
                table.c.endpoint_id == endpoint_id,
                table.c.status == DeliveryStatus.FAILED.value,
                table.c.created_at >= since,
                table.c.event_id > after,
            )
            .order_by(table.c.event_id)
            .limit(limit)
        )
        async with tenant_transaction(self._engine, tenant_id.value) as connection:
            rows = (await connection.execute(query)).all()
        return [_request_of(row) for row in rows]

    async def reopen(self, request: DeliveryRequest) -> DeliveryRequest | None:
        """Back to ``pending`` with no attempts counted (its attempts stay recorded)."""
        table = webhook_deliveries
        statement = (
            table.update()
            .where(table.c.endpoint_id == request.endpoint_id, table.c.event_id == request.event_id)
            .values(status=DeliveryStatus.PENDING.value, attempts=0)
            .returning(*table.c)
        )
        async with tenant_transaction(self._engine, request.tenant_id.value) as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else _request_of(row)


def _request_of(row: Any) -> DeliveryRequest:
    return DeliveryRequest(
        TenantId(row.tenant_id), row.endpoint_id, row.event_id, row.event_type, row.payload
    )
