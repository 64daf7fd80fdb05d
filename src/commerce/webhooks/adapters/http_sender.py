"""The webhook HTTP sender: a kept ``httpx`` client, no redirects, TLS verified, SSRF at connect.

The host is resolved once per request and the addresses checked against the
:class:`~commerce.webhooks.domain.addresses.AddressPolicy`; the connection then goes to the
checked address (the transport's network backend is given it), so a DNS answer that changes
between the check and the connect (rebinding) cannot take the request elsewhere. The
``Host`` header and TLS server name stay the URL's host.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx

from commerce.webhooks.application.ports import HostResolver
from commerce.webhooks.domain.addresses import (
    AddressPolicy,
    IpAddress,
    numeric_host,
    parse_target,
)
from commerce.webhooks.domain.outcomes import Attempt

__all__ = ["HttpWebhookSender", "SystemResolver"]

BODY_LIMIT = 20 * 1024
"""Bytes of the receiver's response body kept with the attempt."""


class SystemResolver:
    """The operating system's resolver (``getaddrinfo`` in a thread)."""

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        """Every address of ``host`` (TCP)."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            return []
        found = {numeric_host(str(info[4][0]).split("%")[0]) for info in infos}
        return [address for address in found if address is not None]


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the address checked for this request, whatever host ``httpcore`` asks for."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, address: str) -> None:
        self._inner = inner
        self._address = address

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_tcp(
            self._address, port, timeout, local_address, socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _retry_after(value: str | None, now: datetime) -> float | None:
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - now).total_seconds(), 0.0) if when.tzinfo else None


class HttpWebhookSender:
    """A :class:`~commerce.webhooks.application.ports.WebhookSender` over ``httpx``.

    One connection pool per (scheme, host, port, address): a slow partner's pool never
    holds another partner's connections. Close it with :meth:`aclose`.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: HostResolver,
        *,
        timeout: float = 15.0,
        max_connections_per_host: int = 10,
        user_agent: str = "commerce-webhooks/1",
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._timeout = httpx.Timeout(timeout)
        self._limits = httpx.Limits(
            max_connections=max_connections_per_host, max_keepalive_connections=2
        )
        self._user_agent = user_agent
        self._clients: dict[tuple[str, str, int, str], httpx.AsyncClient] = {}

    async def _address_of(self, host: str, port: int) -> IpAddress:
        literal = numeric_host(host)
        if literal is not None:
            self._policy.check(host, literal)
            return literal
        addresses = self._policy.check_all(host, await self._resolver.resolve(host, port))
        return addresses[0]

    def _client(self, scheme: str, host: str, port: int, address: IpAddress) -> httpx.AsyncClient:
        key = (scheme, host, port, address.compressed)
        client = self._clients.get(key)
        if client is None:
            transport = httpx.AsyncHTTPTransport(verify=True, limits=self._limits, retries=0)
            pool = transport._pool
            pool._network_backend = _PinnedBackend(
                pool._network_backend,
                address.compressed,
            )
            client = httpx.AsyncClient(
                transport=transport, follow_redirects=False, timeout=self._timeout, trust_env=False
            )
            self._clients[key] = client
        return client

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt:
        """POST ``body``; a refused address raises :class:`RefusedAddress`, every receiver
        fault is an attempt."""
        target = parse_target(url)
        address = await self._address_of(target.host, target.port)
        client = self._client(target.scheme, target.host, target.port, address)
        request_headers = {
            "content-type": "application/json",
            "user-agent": self._user_agent,
            **headers,
        }
        started = time.perf_counter()
        try:
            response = await client.post(url, content=body, headers=request_headers)
        except httpx.TimeoutException as error:
            return Attempt(None, _ms(started), timed_out=True, error=f"timeout: {error!r}")
        except httpx.HTTPError as error:
            return Attempt(None, _ms(started), error=f"{type(error).__name__}: {error}")
        text = response.content[:BODY_LIMIT].decode("utf-8", errors="replace")
        return Attempt(
            response.status_code,
            _ms(started),
            retry_after=_retry_after(response.headers.get("retry-after"), datetime.now(UTC)),
            body=text,
        )

    async def aclose(self) -> None:
        """Close every pool."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
