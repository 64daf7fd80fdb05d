"""The worker's ``/docs`` page renders the live contract in headless Chromium, offline.

``commerce run worker`` runs as a process on each transport; Chromium (Debian's package,
driven over the DevTools pipe) can reach 127.0.0.1 only. The page must render an
operation block for every operation of the live document, headed by its channel's name,
and must not even try to load anything from another origin.

A channel's name is what a client names on the broker: its address (a queue or topic),
except where the address is only a routing key inside an exchange - RabbitMQ's event
streams, whose address is ``{userId}`` and the like. There the stream's name is the topic
exchange's (``bindings.amqp.exchange.name``), which the component shows in the channel's
description under the heading. Operation ids (which contain channel names too) are not
looked at.
"""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from commerce.registry.channels import CONSUMERS, EVENT_CONSUMERS, EVENT_STREAMS
from commerce.registry.queries import QUERY_ROUTES
from tests.support.chromium import Browser, chromium_path, open_browser
from tests.support.database import ProvisionedDatabase
from tests.support.namespaces import fresh_namespace
from tests.support.services import in_ci
from tests.support.tansu import free_port
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

COMMERCE = str(Path(sys.executable).parent / "commerce")

_MISSING = """(() => {
  const root = document.querySelector('asyncapi-component')?.shadowRoot;
  if (!root) return ['<no component>'];
  return %s.map(([id]) => id).filter((id) => !root.getElementById(id));
})()"""

# Per operation block: the channel name in its heading, and the code spans of the channel
# description rendered right under it (OperationInfo in @asyncapi/react-component).
_RENDERED = """(() => {
  const root = document.querySelector('asyncapi-component')?.shadowRoot;
  if (!root) return null;
  const blocks = {};
  for (const [id] of %s) {
    const block = root.getElementById(id);
    const heading = block?.querySelector('h3 > span.font-mono.text-base');
    if (!heading) return null;
    const description = block.querySelector('.panel-item--center > div.mt-2 > .prose');
    blocks[id] = {
      heading: heading.textContent,
      described: [...(description?.querySelectorAll('code') ?? [])].map((c) => c.textContent),
    };
  }
  return {blocks, text: root.textContent};
})()"""


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium; ``scripts/services.sh`` installs it where CI runs."""
    path = chromium_path()
    if path is None:
        reason = "chromium is not installed (apt-get install chromium, or scripts/services.sh)"
        if in_ci():
            pytest.fail(f"CI is set, so {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture
def namespace() -> str:
    """The worker's own broker namespace: every broker name it documents starts with it."""
    return fresh_namespace()


@pytest.fixture
async def worker_url(
    provisioned_database: ProvisionedDatabase,
    broker_url: str,
    redis_url: str,
    namespace: str,
    tmp_path: Path,
) -> AsyncIterator[str]:
    """A ``commerce run worker`` process in its own broker namespace; its base URL."""
    settings = settings_for(provisioned_database, broker_url, namespace)
    settings.redis.url = SecretStr(redis_url)  # the worker's preflight checks Redis too
    settings.http.port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
    env |= environment_for(settings)
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [COMMERCE, "run", "worker"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{settings.http.port}"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(150):
                assert process.poll() is None, log.read_text()[-3000:]
                try:
                    if (await client.get(f"{url}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            else:
                pytest.fail(f"the worker never answered /health: {log.read_text()[-3000:]}")
        yield url
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()


def _expected_names(namespace: str) -> set[str]:
    """The broker names of the catalogued channels, in the worker's namespace."""
    names = {stream.name for stream in EVENT_STREAMS}
    names |= {consumer.name for consumer in EVENT_CONSUMERS}
    names |= {route.channel.name for route in QUERY_ROUTES}
    for consumer in CONSUMERS:
        names |= {consumer.name, consumer.dead_letters, consumer.skipped, *consumer.retry_channels}
    return {f"{namespace}.{name}" for name in names}


def _render(chromium: str, url: str, blocks: list[tuple[str, str]], log_dir: Path) -> Any:
    with open_browser(chromium, log_dir=log_dir) as browser:
        browser.navigate(f"{url}/docs")
        # Generous: rendering 200 operations on a busy 2-core machine takes a while.
        rendered = browser.wait_for(_RENDERED % _js_pairs(blocks), timeout=180)
        network = _network(browser)
        if rendered is None:
            network["missing"] = browser.evaluate(_MISSING % _js_pairs(blocks), timeout=60) or []
        return rendered, network


def _js_pairs(blocks: list[tuple[str, str]]) -> str:
    return json.dumps([list(pair) for pair in blocks])


def _network(browser: Browser) -> dict[str, list[str]]:
    return {
        "requests": browser.requests,
        "remote_addresses": browser.remote_addresses,
        "failures": browser.failures,
        "console": browser.console,
    }


def _operation_blocks(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(element id, channel key)`` of each operation the component renders."""
    for operation_id, operation in document["operations"].items():
        channel = str(operation["channel"]["$ref"]).rsplit("/", 1)[-1]
        kind = operation["action"]
        if "reply" in operation:  # the component names request/reply operations apart
            kind = "request" if kind == "send" else "reply"
        yield f"operation-{kind}-{operation_id}", channel


def _channel_name(channel: dict[str, Any]) -> str:
    """The broker's name of a channel: its address, or where the address is a routing key
    template (``{userId}``) inside a named exchange, the exchange's name."""
    address = str(channel["address"])
    amqp = (channel.get("bindings") or {}).get("amqp", {})
    exchange = amqp.get("exchange", {}).get("name")
    if amqp.get("is") == "routingKey" and exchange and address.startswith("{"):
        return str(exchange)
    return address


async def test_docs_page_renders_every_channel_without_leaving_127_0_0_1(
    chromium: str, worker_url: str, broker_url: str, namespace: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        document = (await client.get(f"{worker_url}/docs/asyncapi.json")).json()
        page = await client.get(f"{worker_url}/docs")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "://" not in page.text, "the page names no other origin"
    channels = set(document["channels"])
    protocol = document["servers"]["test"]["protocol"]
    assert protocol == ("kafka" if broker_url.startswith("kafka") else "amqp")

    blocks = list(_operation_blocks(document))
    assert {channel for _, channel in blocks} == channels, "every channel has an operation"
    rendered, network = await asyncio.to_thread(_render, chromium, worker_url, blocks, tmp_path)

    assert rendered, f"the page never rendered every operation: {network}"
    shown: set[str] = set()
    for element, key in blocks:
        channel = document["channels"][key]
        name, block = _channel_name(channel), rendered["blocks"][element]
        assert block["heading"] == channel["address"], f"{element} is headed {block}"
        if name != channel["address"]:  # a routing key: the exchange is named below it
            assert name in block["described"], f"{element} does not name {name}: {block}"
        shown.add(name)
    names = {_channel_name(channel) for channel in document["channels"].values()}
    assert shown == names, "every channel's name is rendered with an operation of it"
    expected = _expected_names(namespace)
    assert expected <= names, "commands, streams, consumers, retries, DLQs, queries"
    routing_keys = {
        name
        for channel in document["channels"].values()
        if (name := _channel_name(channel)) != channel["address"]
    }
    streams = {f"{namespace}.{stream.name}" for stream in EVENT_STREAMS}
    assert routing_keys == (streams if protocol == "amqp" else set()), routing_keys
    assert "commerce.identity.RegisterUser.v1" in rendered["text"]
    assert "ce-tenantid" in rendered["text"] or "ce_tenantid" in rendered["text"]
    outside = [url for url in network["requests"] if not url.startswith(f"{worker_url}/")]
    assert outside == [], f"the page asked for other origins: {outside}"
    hosts = {urlsplit(url).hostname for url in network["requests"]}
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {hosts}"
    answered_from = set(network["remote_addresses"])
    assert answered_from == {"127.0.0.1"}, f"responses came from {answered_from}"
    assert f"{worker_url}/docs/assets/asyncapi-web-component.js" in network["requests"]
    assert f"{worker_url}/docs/asyncapi.json" in network["requests"]
    assert network["failures"] == [], network
    assert not [line for line in network["console"] if "Refused" in line], network["console"]
