"""Real HTTP receivers on 127.0.0.1 for the webhook tests (aiohttp)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["Received", "Receiver", "receiver"]


@dataclass
class Received:
    """One request a receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A running receiver: its base URL and every request it got."""

    url: str
    requests: list[Received] = field(default_factory=list)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    """Serve on 127.0.0.1 (a free port): ``/ok`` 200, ``/gone`` 410, ``/hang`` never answers,
    ``/redirect`` 302 to ``/ok``, ``/busy`` 429 with ``Retry-After: 120``, ``/flaky`` fails
    three times then 200, ``/big`` a 64 kB body with 500."""
    state = Receiver("")
    flaky = {"left": 3}

    async def handle(request: web.Request) -> web.StreamResponse:
        state.requests.append(Received(request.path, dict(request.headers), await request.read()))
        match request.path:
            case "/gone":
                return web.Response(status=410)
            case "/hang":
                await asyncio.sleep(3600)
            case "/redirect":
                raise web.HTTPFound("/ok")
            case "/busy":
                return web.Response(status=429, headers={"Retry-After": "120"})
            case "/big":
                return web.Response(status=500, body=b"x" * 65536)
            case "/flaky" if flaky["left"] > 0:
                flaky["left"] -= 1
                return web.Response(status=503)
        return web.Response(status=200, text="ok")

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()
