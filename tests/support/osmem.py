"""An Elasticsearch client for the osmem protocol server (tests only).

The official client (v9) sends ``application/vnd.elasticsearch+json; compatible-with=9``;
osmem, an OpenSearch-compatible server, answers plain JSON only. This transport node
rewrites the two headers to ``application/json`` / ``application/x-ndjson``; nothing else
changes, so the adapter under test is the one production runs.
"""

from elastic_transport import AiohttpHttpNode, HttpHeaders
from elastic_transport._models import DEFAULT, DefaultType
from elastic_transport._node import NodeApiResponse
from elasticsearch import AsyncElasticsearch

__all__ = ["osmem_client"]


class _PlainJsonNode(AiohttpHttpNode):
    async def perform_request(  # type: ignore[override]  # as the base class does
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("content-type", "accept"):
                if name in headers:
                    ndjson = "x-ndjson" in headers[name] and name == "content-type"
                    headers[name] = "application/x-ndjson" if ndjson else "application/json"
        return await super().perform_request(
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )


def osmem_client(url: str) -> AsyncElasticsearch:
    """An async client of the osmem server at ``url``."""
    return AsyncElasticsearch(url, node_class=_PlainJsonNode)
