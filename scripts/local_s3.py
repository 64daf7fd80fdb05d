"""A local S3 server that keeps its buckets in a directory: durable storage for Tansu.

The bundled Tansu build stores data in memory or on S3 only (``sqlite://``,
``postgres://`` and ``file://`` are not compiled in), so ``make kafka`` keeps its topics
on this server. It speaks the S3 subset Tansu uses through the tests' in-memory server
(:mod:`tests.support.s3_server`: its :class:`~tests.support.s3_server.Store` and
:func:`~tests.support.s3_server.serve`) and mirrors every successful write to
``--data-dir`` (one file per object, replaced atomically), from which it is refilled at
start. A write reaches the disk before it is answered, so a killed server loses nothing
acknowledged; the files are not fsynced, so a power cut may.

    uv run python -m scripts.local_s3 --port 9093 --data-dir .local/tansu/s3
"""

import argparse
import asyncio
import hashlib
import json
import os
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from tests.support.s3_server import Response, Store, serve

__all__ = ["DurableStore"]


class DurableStore:
    """The in-memory :class:`Store`, with every bucket and object also kept under ``root``.

    ``root/buckets.json`` names the buckets; ``root/objects/<sha256>`` holds one object:
    a JSON line (bucket, key, content type), then the body.
    """

    def __init__(self, root: Path) -> None:
        """Open (or create) the store in ``root`` and load what it holds."""
        self._memory = Store()
        self._objects = root / "objects"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._buckets_file = root / "buckets.json"
        self._buckets: list[str] = []
        self._load()

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one request; keep a successful write on disk before answering."""
        status, extra, payload = self._memory.handle(method, target, headers, body)
        if method in ("PUT", "DELETE") and status in (200, 204):
            bucket, _, key = unquote(urlsplit(target).path).lstrip("/").partition("/")
            if not key:
                self._add_bucket(bucket)
            elif method == "PUT":
                meta = {"bucket": bucket, "key": key, "content_type": headers.get("content-type")}
                self._write(self._path(bucket, key), json.dumps(meta).encode() + b"\n" + body)
            else:
                self._path(bucket, key).unlink(missing_ok=True)
        return status, extra, payload

    def _load(self) -> None:
        if self._buckets_file.exists():
            for bucket in json.loads(self._buckets_file.read_text()):
                self._add_bucket(bucket)
        for path in self._objects.iterdir():
            if path.name.endswith(".tmp"):  # a write cut short: never acknowledged
                path.unlink()
                continue
            header, _, body = path.read_bytes().partition(b"\n")
            meta = json.loads(header)
            headers = {"content-type": meta["content_type"]} if meta["content_type"] else {}
            target = f"/{quote(meta['bucket'], safe='')}/{quote(meta['key'], safe='/')}"
            self._memory.handle("PUT", target, headers, body)

    def _add_bucket(self, bucket: str) -> None:
        self._memory.handle("PUT", f"/{quote(bucket, safe='')}", {}, b"")
        if bucket not in self._buckets:
            self._buckets.append(bucket)
            self._write(self._buckets_file, json.dumps(self._buckets).encode())

    def _path(self, bucket: str, key: str) -> Path:
        digest = hashlib.sha256(f"{bucket}\0{key}".encode()).hexdigest()
        return self._objects / digest

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        temporary = path.with_name(f"{path.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Local S3 server kept in a directory.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.port, store=DurableStore(arguments.data_dir)))
