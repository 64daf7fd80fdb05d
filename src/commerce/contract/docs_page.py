"""The AsyncAPI docs page, served by the worker itself and working offline (ADR 0003, 0007).

``/docs`` is a small HTML page rendering the live contract with the AsyncAPI web
component; ``/docs/asyncapi.json`` (and ``.yaml``) is the running worker's document;
``/docs/assets/...`` are the component's standalone bundle and stylesheet, read from the
npm install (``scripts/node/node_modules``, or ``COMMERCE_HTTP__DOCS_ASSETS_DIR``). Nothing
comes from a CDN: without the assets, ``/docs`` answers 503 and says how to install them,
and the page's Content-Security-Policy forbids every other origin.
"""

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faststream.asgi import AsgiResponse, get

import commerce
from commerce.contract.asyncapi import to_json, to_yaml

__all__ = ["ASSETS", "DOCS_PATH", "DocsAssets", "default_assets_dir", "docs_routes"]

DOCS_PATH = "/docs"
ASSETS: dict[str, tuple[str, str]] = {
    "asyncapi-web-component.js": (
        "@asyncapi/web-component/lib/asyncapi-web-component.js",
        "text/javascript; charset=utf-8",
    ),
    "default.min.css": (
        "@asyncapi/react-component/styles/default.min.css",
        "text/css; charset=utf-8",
    ),
}
"""Served name → (path inside ``node_modules``, content type)."""

_CSP = (  # the component's JSON Schema validator (ajv) compiles with `new Function`
    "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_CONFIG = {
    "show": {
        "sidebar": True,
        "info": True,
        "servers": True,
        "operations": True,
        "messages": True,
        "messageExamples": True,
        "schemas": True,
        "errors": True,
    },
    "expand": {"messageExamples": True},
    "sidebar": {"showServers": "byDefault", "showOperations": "byDefault"},
}
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<script src="docs/assets/asyncapi-web-component.js" defer></script>
</head>
<body>
<asyncapi-component schemaUrl="docs/asyncapi.json" cssImportPath="docs/assets/default.min.css"
  config="{config}"></asyncapi-component>
<noscript>{title}: <a href="docs/asyncapi.json">JSON</a>, <a href="docs/asyncapi.yaml">YAML</a>.
</noscript>
</body>
</html>
"""
_MISSING = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>AsyncAPI docs unavailable</title></head>
<body>
<h1>AsyncAPI docs unavailable</h1>
<p>The AsyncAPI web component is not installed: {missing} not found under
<code>{directory}</code>.</p>
<p>Install it with <code>make node</code> (<code>npm ci --prefix scripts/node</code>), or point
<code>COMMERCE_HTTP__DOCS_ASSETS_DIR</code> at a directory holding those files. This page never
loads them from a CDN.</p>
<p>The contract itself is here: <a href="docs/asyncapi.json">JSON</a>,
<a href="docs/asyncapi.yaml">YAML</a>.</p>
</body>
</html>
"""


def default_assets_dir() -> Path:
    """The repository's ``scripts/node/node_modules`` (where ``make node`` installs)."""
    return Path(commerce.__file__).resolve().parents[2] / "scripts" / "node" / "node_modules"


@dataclass
class DocsAssets:
    """The web component's two files, found in ``node_modules`` layout or side by side."""

    directory: Path
    _cache: dict[str, bytes] = field(default_factory=dict)

    def locate(self, name: str) -> Path | None:
        """Where the asset ``name`` is, if anywhere."""
        inside, _ = ASSETS[name]
        for candidate in (self.directory / inside, self.directory / name):
            if candidate.is_file():
                return candidate
        return None

    def missing(self) -> list[str]:
        """The assets that cannot be found (checked on every call: installs can follow)."""
        return [name for name in ASSETS if name not in self._cache and self.locate(name) is None]

    def read(self, name: str) -> bytes | None:
        """The asset's bytes (read once, then kept), or ``None`` if it is missing."""
        if name not in self._cache:
            path = self.locate(name)
            if path is None:
                return None
            self._cache[name] = path.read_bytes()
        return self._cache[name]


def _page(title: str) -> bytes:
    config = html.escape(json.dumps(_CONFIG, separators=(",", ":")), quote=True)
    return _PAGE.format(title=html.escape(title), config=config).encode()


def docs_routes(
    document: Callable[[], dict[str, Any]], assets: DocsAssets, *, title: str = "commerce"
) -> list[tuple[str, Any]]:
    """The ASGI routes of the docs page; ``document`` builds the live contract (cached)."""
    rendered: dict[str, bytes] = {}

    def contract(kind: str) -> bytes:
        if not rendered:
            built = document()
            rendered["json"] = to_json(built).encode()
            rendered["yaml"] = to_yaml(built).encode()
        return rendered[kind]

    @get(include_in_schema=False)
    async def page(scope: Any) -> AsgiResponse:
        """The docs page, or 503 naming the missing assets."""
        if missing := assets.missing():
            body = _MISSING.format(
                missing=", ".join(f"<code>{html.escape(name)}</code>" for name in missing),
                directory=html.escape(str(assets.directory)),
            )
            return AsgiResponse(body.encode(), 503, {"Content-Type": "text/html; charset=utf-8"})
        headers = {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": _CSP,
            "Cache-Control": "no-cache",
        }
        return AsgiResponse(_page(f"{title}: AsyncAPI contract"), 200, headers)

    @get(include_in_schema=False)
    async def document_json(scope: Any) -> AsgiResponse:
        """The running worker's AsyncAPI document as JSON."""
        headers = {"Content-Type": "application/json", "Cache-Control": "no-cache"}
        return AsgiResponse(contract("json"), 200, headers)

    @get(include_in_schema=False)
    async def document_yaml(scope: Any) -> AsgiResponse:
        """The running worker's AsyncAPI document as YAML."""
        headers = {"Content-Type": "application/yaml; charset=utf-8", "Cache-Control": "no-cache"}
        return AsgiResponse(contract("yaml"), 200, headers)

    def asset_route(name: str, content_type: str) -> Any:
        @get(include_in_schema=False)
        async def asset(scope: Any) -> AsgiResponse:
            """One of the web component's files, from the local npm install."""
            body = assets.read(name)
            if body is None:
                message = f"{name} is not installed under {assets.directory}; run `make node`"
                return AsgiResponse(message.encode(), 404, {"Content-Type": "text/plain"})
            return AsgiResponse(body, 200, {"Content-Type": content_type})

        return asset

    routes: list[tuple[str, Any]] = [
        (DOCS_PATH, page),
        (f"{DOCS_PATH}/asyncapi.json", document_json),
        (f"{DOCS_PATH}/asyncapi.yaml", document_yaml),
    ]
    routes += [
        (f"{DOCS_PATH}/assets/{name}", asset_route(name, content_type))
        for name, (_, content_type) in ASSETS.items()
    ]
    return routes
