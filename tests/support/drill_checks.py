"""What the reliability drill reads back, and how it judges it.

:func:`read_state` takes the database's view after the drill; :func:`judge` returns every
broken expectation with samples of what broke (empty: all held), so one failed drill run
shows all that went wrong instead of only the first.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.identity.messages.channels import USER_DIRECTORY, USERS
from commerce.platform.delivery.chaos import FaultInjector
from commerce.platform.messaging.channels import REJECTIONS
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import inbox, outbox, user_directory, users
from tests.support.drill import Published
from tests.support.drill_plan import DRILL_CHANNELS, Drill, FinalUser
from tests.support.worker_logs import (
    delivered_again,
    log_records,
    redelivery_scheduled,
    unrouted,
)

__all__ = ["DrillState", "judge", "read_state"]

_EXCEPTIONS = {
    "undecodable": {"JSONDecodeError", "UnicodeDecodeError"},
    "schema-invalid": {"ValidationError"},
}
"""The exception types (short names) each reason of an invalid message comes from."""


@dataclass(frozen=True, slots=True)
class DrillState:
    """The drill tenant's state in the database once everything settled."""

    users: dict[UUID, FinalUser]
    directory: dict[UUID, FinalUser]
    inbox: dict[str, set[str]]  # consumer -> message ids
    caused: dict[str, tuple[str, int]]  # event id -> (aggregate id, version)
    rejections: int
    dead_letters: list[dict[str, Any]]


def _final(row: Any) -> FinalUser:
    return FinalUser(row.version, row.display_name, row.status, frozenset(row.roles))


async def read_state(app: AsyncEngine, owner: AsyncEngine, drill: Drill) -> DrillState:
    """Users, the user directory, inbox, caused events and dead letters of the drill."""
    columns = ("version", "display_name", "status", "roles")
    async with tenant_transaction(app, drill.tenant) as connection:
        user_rows = await connection.execute(
            select(users.c.id, *(users.c[name] for name in columns))
        )
        found = {row.id: _final(row) for row in user_rows}
        directory_rows = await connection.execute(
            select(user_directory.c.user_id, *(user_directory.c[name] for name in columns))
        )
        directory = {row.user_id: _final(row) for row in directory_rows}
        received: dict[str, set[str]] = {}
        for consumer, message_id in await connection.execute(
            select(inbox.c.consumer, inbox.c.message_id)
        ):
            received.setdefault(consumer, set()).add(str(message_id))
    async with tenant_transaction(owner, drill.tenant) as connection:
        outbox_rows = (
            await connection.execute(
                select(
                    outbox.c.message_id,
                    outbox.c.stream,
                    outbox.c.aggregate_id,
                    outbox.c.aggregate_version,
                )
            )
        ).all()
    async with owner.connect() as connection:
        dead = await connection.execute(
            text("SELECT * FROM dead_letters WHERE message_id = ANY(:ids) ORDER BY id"),
            {"ids": list(drill.bad)},
        )
        dead_letters = [dict(row._mapping) for row in dead]
    return DrillState(
        users=found,
        directory=directory,
        inbox=received,
        caused={
            str(row.message_id): (row.aggregate_id, row.aggregate_version)
            for row in outbox_rows
            if row.stream == USERS.name
        },
        rejections=sum(row.stream == REJECTIONS.name for row in outbox_rows),
        dead_letters=dead_letters,
    )


def _sample(found: Any) -> Any:
    """At most five of ``found`` (a dict, set or list), else ``found`` itself."""
    if isinstance(found, dict):
        return dict(list(found.items())[:5]) | ({"...": len(found)} if len(found) > 5 else {})
    if isinstance(found, set | list):
        return [*list(found)[:5], *([f"... {len(found)} in all"] if len(found) > 5 else [])]
    return found


def _differences[K, V](
    expected: dict[K, V], actual: dict[K, V]
) -> dict[K, tuple[V | None, V | None]]:
    return {
        key: (expected.get(key), actual.get(key))
        for key in expected.keys() | actual.keys()
        if expected.get(key) != actual.get(key)
    }


def judge(
    drill: Drill,
    state: DrillState,
    published: Published,
    log: str,
    *,
    rate: float,
    window: tuple[datetime, datetime],
) -> dict[str, Any]:
    """Each expectation of the drill that does not hold, with samples of what broke."""
    delivered = {event_id for events in published.values() for event_id, _ in events}
    found: dict[str, Any] = {
        "every command applied once: each user in its final state": _differences(
            drill.final, state.users
        ),
        "the ordered consumer applied every event in order: directory = users": _traced(
            _differences(state.users, state.directory), published, log
        ),
        "no follow-up came before its user: no rejection": state.rejections,
        "one event caused per applied command": _differences(
            {str(user): final.version for user, final in drill.final.items()},
            dict(Counter(aggregate for aggregate, _ in state.caused.values())),
        ),
        "every caused event published at least once": state.caused.keys() - delivered,
        "only caused events published": delivered - state.caused.keys(),
        "each aggregate's events reach a subscriber as versions 1, 2, 3, ...": order_problems(
            published, state.caused
        ),
        "every invalid message archived with its fault": dead_letter_problems(
            drill, state.dead_letters, *window
        ),
    }
    if rate > 0:  # a drill with injected failures: they happened and were recovered
        found["the injector really injected transient failures"] = (
            "injected transient fault" not in log
        )
        found["every failure outlasting the immediate retries came back by delayed redelivery"] = (
            lasting_failures(drill, state, rate) - redelivered(log)
        )
    for channel in DRILL_CHANNELS:
        inbox_ids = state.inbox.get(channel.consumer, set())
        expected = drill.valid_on(channel)
        found[f"each valid {channel.name} applied exactly once (inbox)"] = {
            "missing": expected - inbox_ids,
            "unexpected": inbox_ids - expected,
        }
    return {
        what: _sample(broken)
        for what, broken in found.items()
        if broken and broken != {"missing": set(), "unexpected": set()}
    }


def _traced(differences: dict[UUID, Any], published: Published, log: str) -> dict[UUID, Any]:
    """Each user differing in the directory, with what befell its events at the user
    directory: ``(version, [log events and outcomes in order])`` per event."""
    seen: dict[str, list[str]] = {}
    for record in log_records(log):
        if record.get("consumer") == USER_DIRECTORY.consumer and "message_id" in record:
            what = record.get("outcome") or record.get("round") or ""
            at = str(record.get("timestamp", ""))[11:23]
            seen.setdefault(str(record["message_id"]), []).append(f"{at} {record['event']} {what}")
    return {
        user: (difference, [(v, seen.get(i, [])) for i, v in published.get(str(user), [])])
        for user, difference in differences.items()
    }


def order_problems(published: Published, caused: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """Aggregates whose events a subscriber did not get as versions 1, 2, 3, ... in order.

    A redelivered event (at least once) counts where it first arrived. Each delivery's
    ``aggregateversion`` must be the version its outbox row records.
    """
    problems: dict[str, Any] = {}
    for subject, events in published.items():
        wrong = [(i, v) for i, v in events if caused.get(i) != (subject, v)]
        first_seen = list(dict(events).values())
        if wrong:
            problems[subject] = f"headers differ from the outbox: {wrong}"
        elif first_seen != list(range(1, len(first_seen) + 1)):
            problems[subject] = first_seen
    return problems


def dead_letter_problems(
    drill: Drill, rows: list[dict[str, Any]], started: datetime, ended: datetime
) -> list[str]:
    """Every way the archived dead letters differ from the invalid messages sent.

    Each invalid message must be archived by the consumer of its channel, with the reason,
    exception type, message and stack of its failure, one attempt (no retry for bad input),
    failure times within the drill, and its original headers and body untouched.
    """
    problems = []
    archived = {row["message_id"] for row in rows}
    problems += [f"{m}: never archived" for m in drill.bad.keys() - archived]
    for row in rows:
        bad = drill.bad[row["message_id"]]
        sent = bad.message
        short_type = row["exception_type"].rsplit(".", 1)[-1]
        headers: dict[str, str] = row["headers"]
        expected = {
            "consumer": sent.channel.consumer,
            "channel": sent.channel.name,
            "reason": bad.reason,
            "attempts": 1,
            "body": sent.body,
        }
        actual = {name: row[name] for name in expected} | {"body": bytes(row["body"])}
        checks = {
            "fields": actual == expected,
            "exception type": short_type in _EXCEPTIONS[bad.reason],
            "message": bool(row["error_message"].strip()),
            "stack": 'File "' in row["stack"] and short_type in row["stack"],  # tail kept
            "times": started <= row["first_failed_at"] <= row["last_failed_at"] <= ended,
            "fault headers": _fault_headers(row) == _prefixed(headers, "x-fault-"),
            "original headers": _without(sent.headers, "content-type").items() <= headers.items(),
        }
        problems += [
            f"{row['message_id']} ({bad.reason} on {sent.channel.name}): {what} wrong: "
            + _detail(what, row)
            for what, ok in checks.items()
            if not ok
        ]
    return problems


def _detail(what: str, row: dict[str, Any]) -> str:
    """The archived values a failed dead-letter check looked at, shortened."""
    shown = {
        "exception type": row["exception_type"],
        "message": row["error_message"],
        "stack": row["stack"][:300] + " ... " + row["stack"][-300:],
        "times": (row["first_failed_at"], row["last_failed_at"]),
        "fault headers": _prefixed(row["headers"], "x-fault-"),
        "original headers": row["headers"],
    }
    default = {k: row[k] for k in ("consumer", "channel", "reason", "attempts")}
    return str(shown.get(what, default))[:1500]


def _prefixed(headers: dict[str, str], prefix: str) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.startswith(prefix)}


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


def _fault_headers(row: dict[str, Any]) -> dict[str, str]:
    """The ``x-fault-*`` headers the archived ``row``'s columns were read from."""
    return {
        "x-fault-reason": row["reason"],
        "x-fault-exception-type": row["exception_type"],
        "x-fault-message": row["error_message"],
        "x-fault-stack": row["stack"],
        "x-fault-consumer": row["consumer"],
        "x-fault-channel": row["channel"],
        "x-fault-attempts": str(row["attempts"]),
        "x-fault-first-failure-at": row["first_failed_at"].isoformat(),
        "x-fault-last-failure-at": row["last_failed_at"].isoformat(),
    }


def lasting_failures(drill: Drill, state: DrillState, rate: float) -> set[tuple[str, str]]:
    """``(message id, consumer)`` of each message whose injected failure outlasts the
    immediate retries (:mod:`commerce.platform.delivery.chaos`): valid commands, and caused events
    at the user directory. Fails if there are none of either (nothing would be shown)."""
    chaos = FaultInjector(rate)
    commands = {
        (message_id, channel.consumer)
        for message_id, channel in drill.valid.items()
        if chaos.lasting(UUID(message_id))
    }
    events = {
        (event_id, USER_DIRECTORY.consumer)
        for event_id in state.caused
        if chaos.lasting(UUID(event_id))
    }
    assert commands, "the drill has commands failing past the immediate retries"
    assert events, "and events"
    return commands | events


def redelivered(log: str) -> set[tuple[str, str]]:
    """``(message id, consumer)`` of each message that came back through the broker: sent
    to a delayed retry round; or, when that send met the broker's (or the database's)
    restart, left unacked for the broker to deliver again; or delivered again after a
    worker's SIGKILL or a broker restart (the worker's ``log`` says which)."""
    scheduled = {(m.message_id, m.consumer) for m in (*redelivery_scheduled(log), *unrouted(log))}
    return scheduled | delivered_again(log)
