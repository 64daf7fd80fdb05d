"""What the reliability drill sends, and what must come of it (:func:`plan_drill`).

A first wave registers users, with exact duplicates and invalid messages on every
identity command channel mixed in. A share of the users then get follow-up commands in
stages: ``ChangeProfile`` and ``AssignRole`` once the user is registered (version 1),
``DeactivateUser`` once both are applied (version 3). Commands on different channels are
not ordered relative to each other, so a stage is sent only once its user reached the
stage's version (:class:`FollowUps`); every follow-up then applies exactly once, and each
such user ends at version 4 with four events.
"""

import json
import random
from collections import deque
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.identity.domain.values import Role
from commerce.identity.messages.channels import (
    ASSIGN_ROLE,
    CHANGE_PROFILE,
    DEACTIVATE_USER,
    REGISTER_USER,
)
from commerce.identity.messages.commands import (
    AssignRole,
    ChangeProfile,
    DeactivateUser,
    RegisterUser,
)
from commerce.platform.messaging.channels import CommandChannel
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import users

__all__ = [
    "DRILL_CHANNELS",
    "BadMessage",
    "Drill",
    "FinalUser",
    "FollowUps",
    "Message",
    "plan_drill",
]

DRILL_CHANNELS: tuple[CommandChannel, ...] = (
    REGISTER_USER,
    CHANGE_PROFILE,
    ASSIGN_ROLE,
    DEACTIVATE_USER,
)
"""The command channels the drill sends to."""

_COMMAND_OF: dict[CommandChannel, type[Command]] = {
    REGISTER_USER: RegisterUser,
    CHANGE_PROFILE: ChangeProfile,
    ASSIGN_ROLE: AssignRole,
    DEACTIVATE_USER: DeactivateUser,
}


@dataclass(frozen=True, slots=True)
class Message:
    """A command as published: channel, body, headers, partition / routing key, id."""

    channel: CommandChannel
    body: bytes
    headers: dict[str, str]
    key: str
    message_id: str


@dataclass(frozen=True, slots=True)
class BadMessage:
    """An invalid message and the dead letter it must become."""

    message: Message
    reason: str


@dataclass(frozen=True, slots=True)
class FinalUser:
    """How a user must end up after the drill."""

    version: int
    display_name: str
    status: str
    roles: frozenset[str]


@dataclass(frozen=True, slots=True)
class Stage:
    """Follow-ups of one user, sent once the user is at ``after_version``."""

    after_version: int
    messages: list[Message]


@dataclass
class Drill:
    """The messages of one drill and what must come of them."""

    tenant: UUID
    first_wave: list[Message] = field(default_factory=list)
    stages: dict[UUID, list[Stage]] = field(default_factory=dict)  # user id -> stages
    valid: dict[str, CommandChannel] = field(default_factory=dict)  # message id -> channel
    bad: dict[str, BadMessage] = field(default_factory=dict)  # message id -> dead letter
    final: dict[UUID, FinalUser] = field(default_factory=dict)  # user id -> end state

    @property
    def total(self) -> int:
        """How many messages the drill publishes."""
        staged = sum(len(stage.messages) for stages in self.stages.values() for stage in stages)
        return len(self.first_wave) + staged

    def valid_on(self, channel: CommandChannel) -> set[str]:
        """The valid commands' message ids on ``channel``."""
        return {message_id for message_id, on in self.valid.items() if on == channel}


class _Planner:
    def __init__(self, style: HeaderStyle, tenant: UUID) -> None:
        self.style = style
        self.drill = Drill(tenant=tenant)

    def command(self, channel: CommandChannel, command: Command, key: str) -> Message:
        message = self._message(channel, command.wire_body(), key, subject=key)
        self.drill.valid[message.message_id] = channel
        return message

    def bad(self, channel: CommandChannel, index: int, *, undecodable: bool) -> Message:
        if undecodable:
            body, reason = b"\x00\xff not json " + str(index).encode(), "undecodable"
        else:
            body, reason = json.dumps({"user_id": index, "role": None}).encode(), "schema-invalid"
        message = self._message(channel, body, f"bad-{index}", subject=None)
        self.drill.bad[message.message_id] = BadMessage(message, reason)
        return message

    def _message(
        self, channel: CommandChannel, body: bytes, key: str, subject: str | None
    ) -> Message:
        envelope = Envelope.new(
            type=_COMMAND_OF[channel].message_type,
            source="/drill",
            tenant_id=self.drill.tenant,
            subject=subject,
        )
        headers = envelope.headers(self.style) | {"content-type": "application/json"}
        return Message(channel, body, headers, key, str(envelope.id))


def plan_drill(
    style: HeaderStyle,
    *,
    total: int,
    duplicates: int,
    undecodable: int,
    invalid: int,
    followed_up: int,
) -> Drill:
    """``total`` messages of a fresh tenant (always the same mix, in the same order).

    ``followed_up`` users get three follow-up commands each; ``duplicates`` exact copies
    of valid commands (a copy travels with its original's stage); ``undecodable`` bodies
    that are not JSON and ``invalid`` JSON bodies that break the schema, spread over the
    drill's channels.
    """
    rng = random.Random(20261122)
    planner = _Planner(style, uuid4())
    drill = planner.drill
    registrations = total - duplicates - undecodable - invalid - 3 * followed_up
    first_wave: list[Message] = []
    user_ids = [uuid4() for _ in range(registrations)]
    for index, user_id in enumerate(user_ids):
        name = f"User {index}"
        command = RegisterUser(
            user_id=user_id,
            email=f"drill-{index}@example.com",
            display_name=name,
            password="correct horse battery staple",
        )
        first_wave.append(planner.command(REGISTER_USER, command, str(user_id)))
        drill.final[user_id] = FinalUser(1, name, "active", frozenset({"customer"}))
    for index, user_id in enumerate(rng.sample(user_ids, followed_up)):
        key, name = str(user_id), f"Renamed {index}"
        changes = [
            planner.command(CHANGE_PROFILE, ChangeProfile(user_id=user_id, display_name=name), key),
            planner.command(ASSIGN_ROLE, AssignRole(user_id=user_id, role=Role.STAFF), key),
        ]
        deactivation = [planner.command(DEACTIVATE_USER, DeactivateUser(user_id=user_id), key)]
        drill.stages[user_id] = [Stage(1, changes), Stage(3, deactivation)]
        drill.final[user_id] = FinalUser(4, name, "deactivated", frozenset({"customer", "staff"}))
    _add_duplicates(rng, drill, first_wave, duplicates)
    for index in range(undecodable + invalid):
        channel = DRILL_CHANNELS[index % len(DRILL_CHANNELS)]
        first_wave.append(planner.bad(channel, index, undecodable=index < undecodable))
    rng.shuffle(first_wave)
    drill.first_wave = first_wave
    return drill


def _add_duplicates(
    rng: random.Random, drill: Drill, first_wave: list[Message], count: int
) -> None:
    """Exact copies of randomly chosen valid commands, each beside its original."""
    homes: list[tuple[Message, list[Message]]] = [(m, first_wave) for m in first_wave]
    for stages in drill.stages.values():
        homes += [(m, stage.messages) for stage in stages for m in stage.messages]
    for original, home in rng.choices(homes, k=count):
        home.append(original)


class FollowUps:
    """Hands out each user's next stage once the database shows the user got there."""

    def __init__(self, drill: Drill) -> None:
        self._tenant = drill.tenant
        self._pending = {user_id: deque(stages) for user_id, stages in drill.stages.items()}

    @property
    def pending(self) -> bool:
        """Whether some stage is still to be sent."""
        return bool(self._pending)

    async def due(self, engine: AsyncEngine) -> list[Message]:
        """The messages of every stage whose user reached its version (none while the
        database is down)."""
        try:
            async with tenant_transaction(engine, self._tenant) as connection:
                rows = await connection.execute(
                    select(users.c.id, users.c.version).where(users.c.id.in_(list(self._pending)))
                )
                versions = {row.id: row.version for row in rows}
        except (SQLAlchemyError, OSError):
            return []
        due: list[Message] = []
        for user_id, version in versions.items():
            stages = self._pending[user_id]
            while stages and stages[0].after_version <= version:
                due += stages.popleft().messages
            if not stages:
                del self._pending[user_id]
        return due
