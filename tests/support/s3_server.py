"""A small in-memory S3 server for Tansu's durable storage (see :mod:`tests.support.s3`).

It speaks the part of the S3 REST API that Tansu's client (Rust ``object_store``,
path-style requests) uses: bucket create; object PUT / GET / HEAD / DELETE with
``If-Match`` / ``If-None-Match`` preconditions (``412``, or ``304`` for a GET whose ETag
still matches), which Tansu's optimistic concurrency relies on; and ``ListObjectsV2`` with
prefix, delimiter, ``start-after`` and continuation tokens. Requests are served one at a
time on one event loop, so each conditional write is atomic. It accepts any credentials
and ignores signatures. Run it with ``python -m tests.support.s3_server --port N``.

The pieces are public for servers that keep the buckets elsewhere (``scripts/local_s3.py``
keeps them in a directory): :class:`Store` answers one request at a time without awaiting,
and :func:`serve` speaks HTTP/1.1 for any :class:`Handler`, a fresh :class:`Store` by
default.
"""

import argparse
import asyncio
import bisect
import contextlib
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

__all__ = ["Handler", "Response", "Store", "serve"]

_REASONS = {200: "OK", 204: "No Content", 304: "Not Modified", 400: "Bad Request"}
_REASONS |= {404: "Not Found", 405: "Method Not Allowed", 412: "Precondition Failed"}
Response = tuple[int, dict[str, str], bytes]
"""An answer: HTTP status, headers (lower-case names) and body."""


class Handler(Protocol):
    """Answers S3 requests one at a time; must not await (conditional writes stay atomic)."""

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer ``method target`` (path and query, percent-encoded) with lower-case
        ``headers`` and the whole request ``body``."""
        ...


@dataclass(slots=True)
class _Object:
    body: bytes
    etag: str
    modified: float
    content_type: str
    listing: str  # its ``<Contents>`` entry, built once: fetches list partitions often


@dataclass(slots=True)
class _Bucket:
    objects: dict[str, _Object] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # sorted, for listing


class Store:
    """Buckets of objects in memory, a :class:`Handler`; every method runs to completion
    without awaiting."""

    def __init__(self) -> None:
        """An empty store: no bucket."""
        self._buckets: dict[str, _Bucket] = {}
        self._version = 0

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one request (see the module's docstring for what is understood)."""
        parts = urlsplit(target)
        bucket_name, _, key = unquote(parts.path).lstrip("/").partition("/")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if not bucket_name:
            return self._list_buckets()
        if not key:
            if method == "PUT":
                self._buckets.setdefault(bucket_name, _Bucket())
                return 200, {}, b""
            if method in ("GET", "HEAD") and bucket_name in self._buckets:
                return self._list(bucket_name, self._buckets[bucket_name], query)
        bucket = self._buckets.get(bucket_name)
        if bucket is None:
            return _error(404, "NoSuchBucket", bucket_name)
        if method == "PUT":
            return self._put(bucket, key, headers, body)
        current = bucket.objects.get(key)
        if current is None:
            return (204, {}, b"") if method == "DELETE" else _error(404, "NoSuchKey", key)
        if method == "DELETE":
            del bucket.objects[key]
            bucket.keys.pop(bisect.bisect_left(bucket.keys, key))
            return 204, {}, b""
        if method not in ("GET", "HEAD"):
            return _error(405, "MethodNotAllowed", method)
        meta = {
            "etag": current.etag,
            "last-modified": formatdate(current.modified, usegmt=True),
            "content-type": current.content_type,
        }
        if headers.get("if-none-match") == current.etag:
            return 304, meta, b""
        if headers.get("if-match", current.etag) != current.etag:
            return _error(412, "PreconditionFailed", key)
        return 200, meta, current.body

    def _put(self, bucket: _Bucket, key: str, headers: dict[str, str], body: bytes) -> Response:
        current = bucket.objects.get(key)
        if headers.get("if-none-match") == "*" and current is not None:
            return _error(412, "PreconditionFailed", key)
        if (expected := headers.get("if-match")) is not None:
            if current is None:
                return _error(404, "NoSuchKey", key)
            if expected != current.etag:
                return _error(412, "PreconditionFailed", key)
        self._version += 1
        etag = f'"{self._version:x}"'
        content_type = headers.get("content-type", "binary/octet-stream")
        modified = time.time()
        bucket.objects[key] = _Object(
            body, etag, modified, content_type, _contents_entry(key, etag, modified, len(body))
        )
        if current is None:
            bisect.insort(bucket.keys, key)
        return 200, {"etag": etag}, b""

    def _list_buckets(self) -> Response:
        """``ListBuckets``: the names only, sorted."""
        names = "".join(
            f"<Bucket><Name>{escape(name)}</Name></Bucket>" for name in sorted(self._buckets)
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<ListAllMyBucketsResult><Buckets>{names}</Buckets></ListAllMyBucketsResult>"
        )
        return 200, {"content-type": "application/xml"}, xml.encode()

    def _list(self, name: str, bucket: _Bucket, query: dict[str, str]) -> Response:
        """``ListObjectsV2``; the continuation token is the last key (or prefix) listed."""
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        after = max(query.get("continuation-token", ""), query.get("start-after", ""))
        limit = int(query.get("max-keys", "1000"))
        keys = bucket.keys
        if delimiter and after.endswith(delimiter):
            after += "\U0010ffff"  # the token was a common prefix: resume past its group
        index = max(bisect.bisect_right(keys, after), bisect.bisect_left(keys, prefix))
        contents: list[str] = []
        prefixes: list[str] = []
        last = ""
        while index < len(keys) and keys[index].startswith(prefix):
            if len(contents) + len(prefixes) >= limit:
                break
            key = keys[index]
            rest = key[len(prefix) :]
            if delimiter and delimiter in rest:
                last = prefix + rest.split(delimiter, 1)[0] + delimiter
                prefixes.append(f"<CommonPrefixes><Prefix>{escape(last)}</Prefix></CommonPrefixes>")
                index = bisect.bisect_left(keys, last + "\U0010ffff")  # past the group
                continue
            last, index = key, index + 1
            contents.append(bucket.objects[key].listing)
        truncated = index < len(keys) and keys[index].startswith(prefix)
        token = (
            f"<NextContinuationToken>{escape(last)}</NextContinuationToken>" if truncated else ""
        )
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>{escape(name)}</Name>'
            f"<Prefix>{escape(prefix)}</Prefix><KeyCount>{len(contents) + len(prefixes)}</KeyCount>"
            f"<MaxKeys>{limit}</MaxKeys><IsTruncated>{str(truncated).lower()}</IsTruncated>"
            f"{token}{''.join(contents)}{''.join(prefixes)}</ListBucketResult>"
        )
        return 200, {"content-type": "application/xml"}, xml.encode()


def _contents_entry(key: str, etag: str, modified: float, size: int) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(modified))
    stamp += f".{int(modified * 1000) % 1000:03d}Z"
    return (
        f"<Contents><Key>{escape(key)}</Key><LastModified>{stamp}</LastModified>"
        f"<ETag>{escape(etag)}</ETag><Size>{size}</Size>"
        "<StorageClass>STANDARD</StorageClass></Contents>"
    )


def _error(status: int, code: str, resource: str) -> Response:
    xml = f"<Error><Code>{code}</Code><Resource>{escape(resource)}</Resource></Error>"
    return status, {"content-type": "application/xml"}, xml.encode()


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readline()
        await reader.readline()
        return b"".join(chunks)
    return await reader.readexactly(int(headers.get("content-length", "0")))


async def _connection(
    store: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve HTTP/1.1 requests on one kept-alive connection until the client closes it."""
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ValueError):
        while request_line := await reader.readline():
            method, target, _ = request_line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await _read_body(reader, headers)
            status, extra, payload = store.handle(method, target, headers, body)
            length = len(payload) if status != 304 else 0
            head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
            head += [f"{name}: {value}" for name, value in extra.items()]
            head += [f"content-length: {length}", "x-amz-request-id: local", "", ""]
            writer.write("\r\n".join(head).encode("latin-1"))
            if method != "HEAD" and status != 304:
                writer.write(payload)
            await writer.drain()
    writer.close()


async def serve(port: int, host: str = "127.0.0.1", *, store: Handler | None = None) -> None:
    """Serve ``store`` (an empty :class:`Store` by default) on ``host:port`` until cancelled."""
    handler = store if store is not None else Store()
    server = await asyncio.start_server(
        lambda reader, writer: _connection(handler, reader, writer), host, port
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="In-memory S3 server for tests.")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))
