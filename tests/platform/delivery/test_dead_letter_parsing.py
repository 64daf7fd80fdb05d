"""Dead-letter tooling without services: reading DLQ messages, filters, CLI parsing."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import asyncpg

from commerce.entrypoints.cli.dlq_support import (
    StatusChoice,
    mask_secrets,
    parse_instant,
    selection,
)
from commerce.platform.delivery.dead_letter_console import _with_new_id, pretty_body, replay_headers
from commerce.platform.delivery.dead_letter_store import (
    DeadLetterFilter,
    DeadLetterStatus,
    record_from,
)
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.messaging.transport import RawMessage
from commerce.platform.postgres.tables import dead_letters

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = uuid4()


def _raw(headers: dict[str, str], body: bytes = b"{}", key: str | None = "user-1") -> RawMessage:
    return RawMessage(
        channel="x.dlq", key=key, body=body, headers=headers, content_type="application/json"
    )


FAULTED = {
    "ce-id": "01900000-0000-7000-8000-000000000001",
    "ce-tenantid": str(TENANT),
    "ce-subject": "user-1",
    "x-fault-reason": "retries-exhausted",
    "x-fault-exception-type": "builtins.ConnectionError",
    "x-fault-message": "gone",
    "x-fault-stack": "Traceback ...",
    "x-fault-channel": "commerce.identity.register-user",
    "x-fault-attempts": "6",
    "x-fault-first-failure-at": "2026-03-01T11:00:00+00:00",
    "x-fault-last-failure-at": "2026-03-01T11:05:00+00:00",
}


def test_a_dlq_message_is_read_into_a_record() -> None:
    record = record_from(
        _raw(FAULTED), consumer="c", channel="fallback", now=NOW, key_is_aggregate=False
    )
    assert record.consumer == "c"
    assert record.channel == "commerce.identity.register-user"
    assert record.message_id == FAULTED["ce-id"]
    assert record.tenant_id == TENANT
    assert record.aggregate_key == "user-1"
    assert (record.reason, record.exception_type, record.attempts) == (
        "retries-exhausted",
        "builtins.ConnectionError",
        6,
    )
    assert record.first_failed_at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert record.last_failed_at == datetime(2026, 3, 1, 11, 5, tzinfo=UTC)
    assert record.headers == FAULTED


def test_bad_input_is_still_archived_with_stable_fallbacks() -> None:
    headers = {"ce_tenantid": "acme", "x-fault-attempts": "many", "odd": "a\x00b"}
    first = record_from(
        _raw(headers, b"\xff"), consumer="c", channel="ch", now=NOW, key_is_aggregate=True
    )
    again = record_from(
        _raw(headers, b"\xff"), consumer="c", channel="ch", now=NOW, key_is_aggregate=True
    )
    assert first.message_id.startswith("sha256:")
    assert first.message_id == again.message_id, "a redelivery has the same identity"
    other = record_from(
        _raw(headers, b"\xfe"), consumer="c", channel="ch", now=NOW, key_is_aggregate=True
    )
    assert other.message_id != first.message_id
    assert first.tenant_id is None
    assert first.channel == "ch"
    assert first.reason == "unknown"
    assert first.attempts == 0
    assert first.first_failed_at == first.last_failed_at == NOW
    assert first.aggregate_key == "user-1", "Kafka: the record key is the aggregate id"
    assert first.headers["odd"] == "a\ufffdb", "Postgres text cannot hold NUL"
    naive = {"x-fault-last-failure-at": "2026-03-01T11:05:00"}
    assert record_from(
        _raw(naive, key=None), consumer="c", channel="ch", now=NOW, key_is_aggregate=False
    ).last_failed_at == datetime(2026, 3, 1, 11, 5, tzinfo=UTC)


def test_a_replay_drops_fault_and_retry_headers_and_an_edit_gets_a_new_id() -> None:
    headers = FAULTED | {"x-retry-round": "3", "X-Retry-Not-Before-Ms": "1", "traceparent": "t"}
    kept = replay_headers(headers)
    assert kept == {
        "ce-id": FAULTED["ce-id"],
        "ce-tenantid": str(TENANT),
        "ce-subject": "user-1",
        "traceparent": "t",
    }
    edited = _with_new_id(kept, new_id="new", replayed_from="old", style=HeaderStyle.RABBIT)
    assert edited["ce-id"] == "new"
    assert edited["replayed-from"] == "old"
    bare = _with_new_id({}, new_id="new", replayed_from="sha256:x", style=HeaderStyle.KAFKA)
    assert bare == {"ce_id": "new", "replayed-from": "sha256:x"}


def test_pretty_body() -> None:
    assert pretty_body(b'{"a":[1]}') == '{\n  "a": [\n    1\n  ]\n}'
    assert pretty_body(b"\xff") is None
    assert pretty_body(b"not json") is None


def test_filters_render_the_conditions_asked_for() -> None:
    assert DeadLetterFilter(status=None).conditions() == []
    where = DeadLetterFilter(
        consumer="c", exception_type="a_b%", reason="r", since=NOW, until=NOW
    ).conditions()
    statement = select(dead_letters.c.id).where(*where)
    sql = str(statement.compile(dialect=asyncpg.dialect(), compile_kwargs={"literal_binds": True}))
    assert "dead_letters.consumer = 'c'" in sql
    assert (
        "(dead_letters.exception_type = 'a_b%'"
        " OR dead_letters.exception_type LIKE '%.a\\_b\\%' ESCAPE '\\')"
    ) in sql, "suffix match, wildcards escaped, grouped"
    assert "dead_letters.status = 'parked'" in sql, "parked by default"
    assert "last_failed_at >=" in sql
    assert "last_failed_at <" in sql
    with pytest.raises(ValueError, match="timezone-aware"):
        DeadLetterFilter(since=datetime(2026, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("1w", NOW - timedelta(weeks=1)),
        ("45s", NOW - timedelta(seconds=45)),
        ("2026-02-01T10:00:00+01:00", datetime(2026, 2, 1, 9, 0, tzinfo=UTC)),
        ("2026-02-01", datetime(2026, 2, 1, tzinfo=UTC)),
    ],
)
def test_times_are_durations_ago_or_iso(text: str, expected: datetime) -> None:
    assert parse_instant(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2x", "-3h", ""])
def test_unreadable_times_are_refused(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="neither a duration"):
        parse_instant(text, now=NOW)


def test_options_become_a_filter() -> None:
    where = selection(consumer="c", since="1h", status=StatusChoice.REPLAYED, now=NOW)
    assert where == DeadLetterFilter(
        consumer="c", since=NOW - timedelta(hours=1), status=DeadLetterStatus.REPLAYED
    )
    assert selection(status=StatusChoice.ALL).status is None
    assert selection().status is DeadLetterStatus.PARKED


def test_secrets_are_masked_recursively() -> None:
    body = {"password": "p", "nested": [{"api_token": "t", "name": "n"}], "Secret": {"a": 1}}
    assert mask_secrets(body) == {
        "password": "********",
        "nested": [{"api_token": "********", "name": "n"}],
        "Secret": "********",
    }
