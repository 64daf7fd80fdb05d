"""Managing endpoints: create, update, rotate the secret, disable, enable (recover).

Each use case checks the URL against the SSRF rule before anything is stored: the scheme,
then every address the host is or resolves to (the sender checks again at connect time).
Secrets are generated here and never returned except by :func:`create_endpoint` and
:func:`rotate_secret`, to the caller who then hands them to the receiver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from uuid import UUID

from commerce.platform.kit.errors import NotFound
from commerce.platform.kit.ids import TenantId
from commerce.platform.transactions.ports import Clock
from commerce.webhooks.application.ports import HostResolver, WebhookStore
from commerce.webhooks.domain.addresses import AddressPolicy, numeric_host, parse_target
from commerce.webhooks.domain.endpoint import DisabledReason, Endpoint
from commerce.webhooks.domain.event_filter import EventFilter
from commerce.webhooks.domain.signing import SigningSecret

__all__ = [
    "EndpointAdmin",
    "EndpointSpec",
    "create_endpoint",
    "disable_endpoint",
    "enable_endpoint",
    "rotate_secret",
    "update_endpoint",
]


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """What a subscriber says about an endpoint (``CreateWebhookEndpoint``'s fields)."""

    url: str
    event_types: Sequence[str] = ()
    description: str = ""
    rate_limit: int | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class EndpointAdmin:
    """The collaborators of endpoint management."""

    store: WebhookStore
    resolver: HostResolver
    policy: AddressPolicy
    clock: Clock
    rotation_grace: timedelta = timedelta(hours=24)


async def check_url(admin: EndpointAdmin, url: str) -> None:
    """Refuse ``url`` (``InvalidWebhookUrl``/``RefusedAddress``) unless it may be reached."""
    target = parse_target(url)
    literal = numeric_host(target.host)
    if literal is not None:
        admin.policy.check(target.host, literal)
    else:
        admin.policy.check_all(target.host, await admin.resolver.resolve(target.host, target.port))


async def _load(admin: EndpointAdmin, tenant_id: TenantId, endpoint_id: UUID) -> Endpoint:
    endpoint = await admin.store.endpoint(tenant_id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


async def create_endpoint(
    admin: EndpointAdmin, tenant_id: TenantId, endpoint_id: UUID, spec: EndpointSpec
) -> SigningSecret:
    """Subscribe ``spec.url``; the same ``endpoint_id`` again changes nothing (redelivery).
    Returns the endpoint's secret."""
    existing = await admin.store.endpoint(tenant_id, endpoint_id)
    if existing is not None:
        return existing.secret
    await check_url(admin, spec.url)
    endpoint = Endpoint(
        endpoint_id,
        tenant_id,
        spec.url,
        SigningSecret.generate(),
        EventFilter.of(spec.event_types),
        spec.description,
        spec.rate_limit,
        dict(spec.headers or {}),
    )
    await admin.store.save_endpoint(endpoint, admin.clock.now())
    return endpoint.secret


async def update_endpoint(
    admin: EndpointAdmin, tenant_id: TenantId, endpoint_id: UUID, spec: EndpointSpec
) -> None:
    """Replace the endpoint's URL, filter, description, rate limit and headers."""
    endpoint = await _load(admin, tenant_id, endpoint_id)
    await check_url(admin, spec.url)
    changed = replace(
        endpoint,
        url=spec.url,
        filter=EventFilter.of(spec.event_types),
        description=spec.description,
        rate_limit=spec.rate_limit,
        headers=dict(spec.headers or {}),
    )
    await admin.store.save_endpoint(changed, admin.clock.now())


async def rotate_secret(
    admin: EndpointAdmin, tenant_id: TenantId, endpoint_id: UUID
) -> SigningSecret:
    """A new secret; the old one keeps signing for the rotation grace period."""
    endpoint = await _load(admin, tenant_id, endpoint_id)
    now = admin.clock.now()
    rotated = endpoint.rotate(SigningSecret.generate(), now, admin.rotation_grace)
    await admin.store.save_endpoint(rotated, now)
    return rotated.secret


async def disable_endpoint(admin: EndpointAdmin, tenant_id: TenantId, endpoint_id: UUID) -> None:
    """Stop deliveries (an operator's decision)."""
    endpoint = await _load(admin, tenant_id, endpoint_id)
    await admin.store.save_endpoint(endpoint.disable(DisabledReason.OPERATOR), admin.clock.now())


async def enable_endpoint(admin: EndpointAdmin, tenant_id: TenantId, endpoint_id: UUID) -> None:
    """Deliver again with a clean failure streak (the URL is checked again)."""
    endpoint = await _load(admin, tenant_id, endpoint_id)
    await check_url(admin, endpoint.url)
    await admin.store.save_endpoint(endpoint.enable(), admin.clock.now())
