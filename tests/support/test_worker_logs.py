"""The drills' reading of worker logs: which messages the broker delivered again."""

import json

import pytest

from tests.support.worker_logs import delivered_again

pytestmark = pytest.mark.unit

FAILED = "transient failure; retrying at once"


def _log(*records: tuple[str, str, dict[str, object]]) -> str:
    return "\n".join(
        json.dumps({"event": event, "message_id": message_id, "consumer": "c", **extra})
        for event, message_id, extra in records
    )


def test_a_delivery_retried_in_process_is_one_delivery() -> None:
    log = _log(
        (FAILED, "m", {"attempt": 1}),
        (FAILED, "m", {"attempt": 2}),
        ("command processed", "m", {"outcome": "applied"}),
    )
    assert delivered_again(log) == set()


def test_attempts_starting_again_at_one_are_a_new_delivery() -> None:
    log = _log((FAILED, "m", {"attempt": 1}), (FAILED, "m", {"attempt": 1}))
    assert delivered_again(log) == {("m", "c")}


def test_a_message_processed_twice_was_delivered_twice() -> None:
    log = _log(
        ("command processed", "m", {"outcome": "applied"}),
        ("command processed", "m", {"outcome": "duplicate"}),
        ("command processed", "n", {"outcome": "applied"}),
    )
    assert delivered_again(log) == {("m", "c")}
