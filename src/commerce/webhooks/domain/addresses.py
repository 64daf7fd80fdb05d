"""Which addresses a webhook may reach: the SSRF rule, checked at subscription and at connect.

A URL is refused unless it is ``http``/``https`` with a host, and every address that host
is or resolves to is public: loopback, private, link-local (which holds the cloud metadata
address 169.254.169.254), multicast, reserved, unspecified, shared (100.64/10) and the
IPv6 forms of them (IPv4-mapped, 6to4, Teredo, site-local, unique-local) are refused.
Hosts written as numbers in another notation (``2130706433``, ``0x7f.1``, ``0177.0.0.1``)
are read the way a C resolver reads them, so they cannot slip through as names.
An allow-list of networks (tests' ``127.0.0.1``) is the only way around the rule.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from commerce.webhooks.domain.errors import InvalidWebhookUrl, RefusedAddress

__all__ = ["AddressPolicy", "IpAddress", "WebhookTarget", "numeric_host", "parse_target"]

type IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text) for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """An endpoint URL taken apart: scheme, host (lower case, no brackets), port."""

    url: str
    scheme: str
    host: str
    port: int


def parse_target(url: str) -> WebhookTarget:
    """Split ``url``; raise :class:`InvalidWebhookUrl` unless it is absolute ``http(s)``."""
    if len(url) > 2048:
        raise InvalidWebhookUrl("a webhook URL has at most 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidWebhookUrl(f"not a URL: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise InvalidWebhookUrl("a webhook URL is http or https")
    if not parts.hostname:
        raise InvalidWebhookUrl("a webhook URL names a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("a webhook URL carries no credentials; use custom headers")
    default = 443 if scheme == "https" else 80
    return WebhookTarget(url, scheme, parts.hostname.lower(), port or default)


def numeric_host(host: str) -> IpAddress | None:
    """The address ``host`` spells, in any notation a resolver accepts; ``None`` for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)  # decimal, octal, hex and short forms, like the C resolver
    except OSError:
        return None
    return ipaddress.IPv4Address(packed)


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _forbidden(address: IpAddress) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (isinstance(address, ipaddress.IPv4Address) and address in SHARED_SPACE, "shared"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (not address.is_global, "not a public address"),
    )
    return next((why for refused, why in checks if refused), None)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """The SSRF rule with its allow-list (empty in production; tests allow ``127.0.0.1/32``)."""

    allowed: tuple[IpNetwork, ...] = field(default=())

    @classmethod
    def allowing(cls, networks: Iterable[str]) -> AddressPolicy:
        """A policy whose allow-list is ``networks`` (CIDR strings)."""
        return cls(tuple(ipaddress.ip_network(text, strict=False) for text in networks))

    def check(self, host: str, address: IpAddress) -> None:
        """Raise :class:`RefusedAddress` unless ``address`` (of ``host``) may be reached."""
        if any(address in network for network in self.allowed):
            return
        candidates = [address, *filter(None, [_embedded_ipv4(address)])]
        for candidate in candidates:
            why = _forbidden(candidate)
            if why is not None:
                raise RefusedAddress(f"webhook host {host!r} is {address}: {why}")

    def check_all(self, host: str, addresses: Iterable[IpAddress]) -> list[IpAddress]:
        """Check every address ``host`` resolved to; all must pass, and there must be one."""
        found = list(addresses)
        if not found:
            raise RefusedAddress(f"webhook host {host!r} resolves to no address")
        for address in found:
            self.check(host, address)
        return found
