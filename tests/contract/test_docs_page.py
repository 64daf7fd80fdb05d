"""``/docs``: the page, the live document and the web component's files, never a CDN."""

from pathlib import Path
from typing import Any

import pytest

from commerce.config import BrokerSettings, HttpSettings, Settings
from commerce.contract.docs_page import ASSETS, DocsAssets, default_assets_dir, docs_routes
from commerce.entrypoints.worker import create_worker
from tests.support.paths import REPOSITORY

pytestmark = pytest.mark.unit


async def _get(app: Any, path: str) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


def _flat_assets(directory: Path) -> Path:
    for name in ASSETS:
        (directory / name).write_text(f"/* {name} */")
    return directory


def _routes(assets: DocsAssets, calls: list[int] | None = None) -> dict[str, Any]:
    def document() -> dict[str, Any]:
        if calls is not None:
            calls.append(1)
        return {"asyncapi": "3.0.0", "info": {"title": "t", "version": "1"}}

    return dict(docs_routes(document, assets, title="commerce"))


async def test_the_page_loads_everything_from_its_own_origin(tmp_path: Path) -> None:
    routes = _routes(DocsAssets(_flat_assets(tmp_path)))
    status, headers, body = await _get(routes["/docs"], "/docs")
    assert status == 200
    page = body.decode()
    assert "://" not in page, "no absolute URL: nothing from a CDN"
    assert 'src="docs/assets/asyncapi-web-component.js"' in page
    assert 'schemaUrl="docs/asyncapi.json"' in page
    assert 'cssImportPath="docs/assets/default.min.css"' in page
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "connect-src 'self'" in headers["content-security-policy"]


async def test_the_assets_are_served_with_their_content_types(tmp_path: Path) -> None:
    routes = _routes(DocsAssets(_flat_assets(tmp_path)))
    status, headers, body = await _get(routes["/docs/assets/asyncapi-web-component.js"], "")
    assert (status, body) == (200, b"/* asyncapi-web-component.js */")
    assert headers["content-type"].startswith("text/javascript")
    status, headers, _ = await _get(routes["/docs/assets/default.min.css"], "")
    assert status == 200
    assert headers["content-type"].startswith("text/css")


async def test_the_node_modules_layout_is_found(tmp_path: Path) -> None:
    for name, (inside, _) in ASSETS.items():
        (tmp_path / inside).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / inside).write_text(name)
    assets = DocsAssets(tmp_path)
    assert assets.missing() == []
    assert assets.read("default.min.css") == b"default.min.css"


async def test_missing_assets_give_503_saying_how_to_install_them(tmp_path: Path) -> None:
    routes = _routes(DocsAssets(tmp_path / "nowhere"))
    status, headers, body = await _get(routes["/docs"], "/docs")
    assert status == 503
    assert headers["content-type"].startswith("text/html")
    text = body.decode()
    assert "asyncapi-web-component.js" in text
    assert "default.min.css" in text
    assert "COMMERCE_HTTP__DOCS_ASSETS_DIR" in text
    assert "make node" in text
    assert "://" not in text
    status, _, _ = await _get(routes["/docs/assets/default.min.css"], "")
    assert status == 404
    status, _, _ = await _get(routes["/docs/asyncapi.json"], "")
    assert status == 200, "the document itself needs no assets"


async def test_the_document_is_built_once_and_served_as_json_and_yaml(tmp_path: Path) -> None:
    calls: list[int] = []
    routes = _routes(DocsAssets(tmp_path), calls)
    status, headers, body = await _get(routes["/docs/asyncapi.json"], "")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body.startswith(b'{\n  "asyncapi": "3.0.0"')
    status, headers, body = await _get(routes["/docs/asyncapi.yaml"], "")
    assert (status, body.splitlines()[0]) == (200, b"asyncapi: 3.0.0")
    assert calls == [1]


def test_the_default_assets_are_the_repository_npm_install() -> None:
    assert default_assets_dir() == REPOSITORY / "scripts" / "node" / "node_modules"


@pytest.mark.parametrize("url", ["amqp://guest:s3cret@localhost:5672/", "kafka://localhost:9092"])
async def test_the_worker_serves_its_live_contract_and_no_cdn_page(
    url: str, tmp_path: Path
) -> None:
    settings = Settings(
        broker=BrokerSettings(url=url, namespace="staging"),  # type: ignore[arg-type]
        http=HttpSettings(docs_assets_dir=_flat_assets(tmp_path)),
        environment="production",
    )
    app = create_worker(settings)
    routes = dict(app.routes)
    assert "/docs/asyncapi.json" in routes
    status, _, body = await _get(routes["/docs/asyncapi.json"], "")
    assert status == 200
    assert b"s3cret" not in body, "the broker password never reaches the document"
    assert b'"production"' in body, "the server is named after the environment"
    assert b'"address": "staging.commerce.identity.register-user"' in body
    status, _, _ = await _get(routes["/docs"], "/docs")
    assert status == 200


async def test_make_docs_serves_the_page_without_any_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from commerce.entrypoints.docs_server import docs_app

    monkeypatch.setenv("COMMERCE_HTTP__DOCS_ASSETS_DIR", str(_flat_assets(tmp_path)))
    monkeypatch.setenv("COMMERCE_BROKER__URL", "kafka://127.0.0.1:1")
    app = docs_app()
    status, _, _ = await _get(app, "/docs")
    assert status == 200
    status, _, body = await _get(app, "/docs/asyncapi.json")
    assert status == 200
    assert b'"protocol": "kafka"' in body
    status, headers, _ = await _get(app, "/")
    assert (status, headers["location"]) == (307, "/docs")
    status, _, _ = await _get(app, "/elsewhere")
    assert status == 404
