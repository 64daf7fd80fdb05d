"""``make kafka``'s S3 server (``scripts/local_s3.py``) keeps its buckets in a directory.

:class:`~scripts.local_s3.DurableStore` is driven through the same S3 requests the server
answers (:meth:`handle`, no socket), then reopened from its directory: what a restarted
``make kafka`` finds. Observed only through S3 requests too (ListBuckets, ListObjectsV2,
GetObject), never through its files.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripts.local_s3 import DurableStore

from tests.support.s3_server import Handler

__all__: list[str] = []

DEFAULT_TYPE = "binary/octet-stream"
Contents = dict[str, dict[str, tuple[bytes, str]]]
"""bucket -> key -> (body, content type)."""


def target(bucket: str, key: str = "") -> str:
    """The request path of a bucket or of one of its objects, percent-encoded."""
    path = f"/{quote(bucket, safe='')}"
    return f"{path}/{quote(key, safe='/')}" if key else path


def contents(store: Handler) -> Contents:
    """Every bucket, key, body and content type the store serves."""
    status, _, listing = store.handle("GET", "/", {}, b"")
    assert status == 200
    buckets = [name.text or "" for name in ElementTree.fromstring(listing).iter("Name")]
    found: Contents = {}
    for bucket in buckets:
        status, _, listing = store.handle("GET", f"{target(bucket)}?list-type=2", {}, b"")
        assert status == 200
        root = ElementTree.fromstring(listing)
        assert root.findtext("IsTruncated") == "false"
        found[bucket] = {}
        for key in [element.text or "" for element in root.iter("Key")]:
            status, headers, body = store.handle("GET", target(bucket, key), {}, b"")
            assert status == 200, (bucket, key)
            found[bucket][key] = (body, headers["content-type"])
    return found


def put(store: Handler, bucket: str, key: str, body: bytes, content_type: str | None = None) -> int:
    """PUT an object; its HTTP status."""
    headers = {"content-type": content_type} if content_type else {}
    return store.handle("PUT", target(bucket, key), headers, body)[0]


@pytest.mark.unit
def test_writes_and_deletes_survive_reopening_and_an_interrupted_write_is_dropped(
    tmp_path: Path,
) -> None:
    store = DurableStore(tmp_path)
    for bucket in ("tansu", "empty"):
        assert store.handle("PUT", target(bucket), {}, b"")[0] == 200
    assert put(store, "tansu", "clusters/c/topics/t/0.batch", b"\x00\n\xffrecords") == 200
    assert put(store, "tansu", "a key/with spaces & ?#%", b"first", "text/plain") == 200
    assert put(store, "tansu", "a key/with spaces & ?#%", b"second\n", "text/plain") == 200
    assert put(store, "tansu", "gone", b"soon deleted") == 200
    assert store.handle("DELETE", target("tansu", "gone"), {}, b"")[0] == 204
    assert store.handle("DELETE", target("tansu", "never there"), {}, b"")[0] == 204
    assert put(store, "no-such-bucket", "k", b"refused") == 404
    written = contents(store)
    (tmp_path / "objects" / "0123.tmp").write_bytes(b"a write cut short")

    reopened = DurableStore(tmp_path)

    assert written == {
        "empty": {},
        "tansu": {
            "a key/with spaces & ?#%": (b"second\n", "text/plain"),
            "clusters/c/topics/t/0.batch": (b"\x00\n\xffrecords", DEFAULT_TYPE),
        },
    }
    assert contents(reopened) == written
    assert not list((tmp_path / "objects").glob("*.tmp"))
    # Tansu's optimistic concurrency still works on what was reloaded.
    key = target("tansu", "clusters/c/topics/t/0.batch")
    etag = reopened.handle("HEAD", key, {}, b"")[1]["etag"]
    assert reopened.handle("PUT", key, {"if-none-match": "*"}, b"x")[0] == 412
    assert reopened.handle("PUT", key, {"if-match": '"stale"'}, b"x")[0] == 412
    assert reopened.handle("PUT", key, {"if-match": etag}, b"next")[0] == 200
    assert contents(DurableStore(tmp_path))["tansu"]["clusters/c/topics/t/0.batch"][0] == b"next"


@dataclass(frozen=True)
class CreateBucket:
    bucket: str


@dataclass(frozen=True)
class Put:
    bucket: str
    key: str
    body: bytes
    content_type: str | None
    only_if_absent: bool  # If-None-Match: *, refused with 412 when the key exists


@dataclass(frozen=True)
class Delete:
    bucket: str
    key: str


@dataclass(frozen=True)
class Reopen:
    pass


Operation = CreateBucket | Put | Delete | Reopen
BUCKETS = st.sampled_from(["tansu", "b.2"])
KEYS = st.sampled_from(["a", "a/b", "a/b/c"]) | st.text(
    st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=12
)


@st.composite
def operations(draw: st.DrawFn) -> list[Operation]:
    """Up to 25 operations on a few keys drawn first, so that they meet often."""
    keys = st.sampled_from(draw(st.lists(KEYS, min_size=1, max_size=4, unique=True)))
    return draw(
        st.lists(
            st.one_of(
                st.builds(CreateBucket, BUCKETS),
                st.builds(
                    Put,
                    BUCKETS,
                    keys,
                    st.binary(max_size=40),
                    st.none() | st.sampled_from(["text/plain", "application/json"]),
                    st.booleans(),
                ),
                st.builds(Delete, BUCKETS, keys),
                st.just(Reopen()),
            ),
            max_size=25,
        )
    )


@pytest.mark.property
@settings(deadline=None)
@given(operations())
def test_a_reopened_store_holds_exactly_what_was_written(operations: list[Operation]) -> None:
    """Property: after any creates, writes (refused ones included), deletes and reopenings,
    the store reopened from its directory serves exactly the buckets and objects a model
    of the acknowledged requests holds: no lost write, no resurrected delete, nothing
    refused kept."""
    model: Contents = {}
    with tempfile.TemporaryDirectory(prefix="local-s3-") as directory:
        root = Path(directory)
        store = DurableStore(root)
        for operation in operations:
            match operation:
                case CreateBucket(bucket):
                    assert store.handle("PUT", target(bucket), {}, b"")[0] == 200
                    model.setdefault(bucket, {})
                case Put(bucket, key, body, content_type, only_if_absent):
                    headers = {"if-none-match": "*"} if only_if_absent else {}
                    headers |= {"content-type": content_type} if content_type else {}
                    status = store.handle("PUT", target(bucket, key), headers, body)[0]
                    if bucket not in model:
                        assert status == 404
                    elif only_if_absent and key in model[bucket]:
                        assert status == 412
                    else:
                        assert status == 200
                        model[bucket][key] = (body, content_type or DEFAULT_TYPE)
                case Delete(bucket, key):
                    status = store.handle("DELETE", target(bucket, key), {}, b"")[0]
                    assert status == (204 if bucket in model else 404)
                    if bucket in model:
                        model[bucket].pop(key, None)
                case Reopen():
                    store = DurableStore(root)
        assert contents(DurableStore(root)) == model
