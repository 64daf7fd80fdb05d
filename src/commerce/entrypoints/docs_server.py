"""The docs page alone, without a broker or a database: ``make docs``.

Serves exactly what the worker serves under ``/docs`` for the transport that
``COMMERCE_BROKER__URL`` selects, built from the code; nothing connects anywhere::

    uv run uvicorn --factory commerce.entrypoints.docs_server:docs_app --port 8000
"""

from typing import Any

from faststream.asgi import AsgiResponse

from commerce.bootstrap.service import build_service
from commerce.config import load_settings
from commerce.contract.asyncapi import contract_document
from commerce.contract.docs_page import DOCS_PATH, DocsAssets, default_assets_dir, docs_routes
from commerce.entrypoints.worker import include_routers

__all__ = ["docs_app"]

type Scope = dict[str, Any]
type Receive = Any
type Send = Any


def docs_app() -> Any:
    """An ASGI app serving ``/docs`` (``/`` redirects there); ASGI factory for uvicorn."""
    settings = load_settings()
    service = build_service(settings)
    include_routers(service)
    routes = dict(
        docs_routes(
            lambda: contract_document(service),
            DocsAssets(settings.http.docs_assets_dir or default_assets_dir()),
            title=settings.service_name,
        )
    )
    redirect = AsgiResponse(b"", 307, {"Location": DOCS_PATH})
    not_found = AsgiResponse(b"Not Found", 404, {"Content-Type": "text/plain"})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": f"{message['type']}.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        route = routes.get(path) or (redirect if path == "/" else not_found)
        await route(scope, receive, send)

    return app
