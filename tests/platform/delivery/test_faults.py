"""Fault headers name the reason a message failed, the same way on every transport."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from commerce.platform.delivery.faults import fault_headers
from commerce.platform.messaging.envelope import EnvelopeError, MissingTenantError
from commerce.platform.messaging.transport import RawMessage

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, tzinfo=UTC)


class _Model(BaseModel):
    number: int


def _schema_error() -> Exception:
    try:
        _Model.model_validate({"number": "x"})
    except Exception as error:
        return error
    raise AssertionError("unreachable")


def _json_error() -> Exception:
    try:
        json.loads("{")
    except json.JSONDecodeError as error:
        return error
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MissingTenantError("no tenant"), "missing-tenant"),
        (EnvelopeError("bad id"), "invalid-envelope"),
        (_json_error(), "undecodable"),
        (_schema_error(), "schema-invalid"),
        (ConnectionError("database went away"), "handler-error"),
    ],
)
def test_each_failure_kind_has_its_reason(error: Exception, reason: str) -> None:
    original = RawMessage("c", None, b"", {}, None)
    headers = fault_headers(error, consumer="c", channel="ch", original=original, now=NOW)
    assert headers["x-fault-reason"] == reason


def test_exhausted_retries_say_so_and_attempts_accumulate_over_deliveries() -> None:
    original = RawMessage("c", None, b"", {"x-fault-attempts": "3"}, None)
    headers = fault_headers(
        ConnectionError("down"),
        consumer="c",
        channel="ch",
        original=original,
        now=NOW,
        attempts=3,
        exhausted=True,
    )
    assert headers["x-fault-reason"] == "retries-exhausted"
    assert headers["x-fault-attempts"] == "6"
    assert headers["x-fault-first-failure-at"] == NOW.isoformat()
