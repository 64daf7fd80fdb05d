"""The SSRF rule: which URLs and addresses an endpoint may point at."""

import ipaddress

import pytest

from commerce.webhooks.domain.addresses import AddressPolicy, numeric_host, parse_target
from commerce.webhooks.domain.errors import InvalidWebhookUrl, RefusedAddress

pytestmark = pytest.mark.unit
POLICY = AddressPolicy()


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "2130706433",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "192.168.1.1",
        "172.16.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "fe80::1",
        "fd00::1",
        "2002:7f00:1::",
        "64:ff9b::a00:1",
        "fd00:ec2::254",
    ],
)
def test_a_forbidden_address_is_refused_in_any_notation(host: str) -> None:
    address = numeric_host(host)
    assert address is not None
    with pytest.raises(RefusedAddress):
        POLICY.check(host, address)


@pytest.mark.parametrize("host", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_a_public_address_passes(host: str) -> None:
    POLICY.check(host, ipaddress.ip_address(host))


def test_the_allow_list_admits_only_its_networks() -> None:
    policy = AddressPolicy.allowing(["127.0.0.1/32"])
    policy.check("127.0.0.1", ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(RefusedAddress):
        policy.check("127.0.0.2", ipaddress.ip_address("127.0.0.2"))


def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    addresses = [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.1.2.3")]
    with pytest.raises(RefusedAddress, match="private"):
        POLICY.check_all("mixed.test", addresses)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "example.com/hook",
        "https://",
        "https://user:pw@example.com/",
        "http://example.com:99999/",
    ],
)
def test_a_url_that_is_not_http_or_https_with_a_host_is_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        parse_target(url)


def test_brackets_are_taken_off_an_ipv6_host() -> None:
    target = parse_target("https://[::1]:8443/hook")
    assert (target.host, target.port) == ("::1", 8443)
