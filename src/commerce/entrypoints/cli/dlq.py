"""``commerce dlq``: list, inspect, replay, edit and purge archived dead letters.

Works as the owner role (``COMMERCE_DATABASE__MIGRATION_URL``) on the dead-letter store
that every worker's archivers fill, and publishes replays on the configured broker. Exit
codes: 0 done, 1 the operation failed (unknown id, nothing matched, invalid edit,
unreachable service), 2 invalid arguments.
"""

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from commerce.bootstrap.operators import dead_letter_console
from commerce.entrypoints.cli.common import fail, settings_or_exit
from commerce.entrypoints.cli.dlq_support import (
    StatusChoice,
    body_text,
    edit_in_editor,
    selection,
    summary,
    table,
    when,
)
from commerce.platform.delivery.dead_letter_console import (
    DeadLetterConsole,
    DeadLetterNotFoundError,
    InvalidDeadLetterEditError,
    pretty_body,
)
from commerce.platform.delivery.dead_letter_store import DeadLetterFilter

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="Dead letters: list, show, replay, edit, purge.", no_args_is_help=True)


ConsumerOpt = Annotated[str | None, typer.Option(help="Only this consumer's dead letters.")]
ExceptionOpt = Annotated[
    str | None, typer.Option("--exception", help="Exception type, e.g. ConnectionError.")
]
ReasonOpt = Annotated[str | None, typer.Option(help="Fault reason, e.g. schema-invalid.")]
SinceOpt = Annotated[str | None, typer.Option(help="Last failure at/after: 2h, 7d or ISO time.")]
UntilOpt = Annotated[str | None, typer.Option(help="Last failure before: 2h, 7d or ISO time.")]
StatusOpt = Annotated[StatusChoice, typer.Option(help="Status to match.")]
IdsArg = Annotated[list[int] | None, typer.Argument(help="Dead-letter ids.", show_default=False)]
AllOpt = Annotated[bool, typer.Option("--all", help="Every dead letter with --status.")]


def _with_console[T](work: Callable[[DeadLetterConsole], Awaitable[T]]) -> T:
    settings = settings_or_exit()

    async def run() -> T:
        async with dead_letter_console(settings) as console:
            return await work(console)

    try:
        return asyncio.run(run())
    except (DeadLetterNotFoundError, InvalidDeadLetterEditError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"database or broker unreachable: {error}") from None


@dlq_app.command("list")
def list_letters(
    *,
    consumer: ConsumerOpt = None,
    exception: ExceptionOpt = None,
    reason: ReasonOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    status: StatusOpt = StatusChoice.PARKED,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List dead letters, most recent failure first."""
    where = selection(
        consumer=consumer,
        exception=exception,
        reason=reason,
        since=since,
        until=until,
        status=status,
    )
    letters = _with_console(lambda console: console.find(where, limit=limit, offset=offset))
    if as_json:
        typer.echo(json.dumps([summary(letter) for letter in letters], indent=2))
        return
    if not letters:
        typer.echo("no dead letters match", err=True)
        return
    header = ("ID", "CONSUMER", "REASON", "EXCEPTION", "ATTEMPTS", "LAST FAILURE", "STATUS")
    rows = [
        (
            str(letter.id),
            letter.consumer,
            letter.reason,
            letter.exception_type.rsplit(".", 1)[-1] or "-",
            str(letter.attempts),
            when(letter.last_failed_at),
            letter.status.value,
        )
        for letter in letters
    ]
    typer.echo(table([header, *rows]))


@dlq_app.command()
def show(
    letter_id: Annotated[int, typer.Argument(metavar="ID", help="Dead-letter id.")],
    reveal: Annotated[bool, typer.Option(help="Show password/secret/token values.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Show one dead letter: fault, headers and body (JSON pretty-printed)."""
    letter = _with_console(lambda console: console.show(letter_id))
    body = body_text(letter, reveal=reveal)
    if as_json:
        details = summary(letter) | {"stack": letter.stack, "headers": letter.headers}
        typer.echo(json.dumps(details | {"body": body}, indent=2, ensure_ascii=False))
        return
    fields = summary(letter)
    typer.echo(f"Dead letter {letter.id} ({letter.status.value})")
    for name in ("consumer", "channel", "message_id", "tenant_id", "aggregate_key", "reason"):
        typer.echo(f"  {name:<16}{fields[name] or '-'}")
    typer.echo(f"  {'exception':<16}{letter.exception_type or '-'}")
    typer.echo(f"  {'attempts':<16}{letter.attempts}")
    for name, value in (
        ("first failure", letter.first_failed_at),
        ("last failure", letter.last_failed_at),
        ("archived", letter.archived_at),
        ("resolved", letter.resolved_at),
    ):
        typer.echo(f"  {name:<16}{when(value)}")
    typer.echo(f"  {'replayed as':<16}{letter.replayed_as or '-'}")
    typer.echo(f"\nError message:\n  {letter.error_message or '-'}")
    typer.echo("\nHeaders:")
    for header, text in sorted(letter.headers.items()):
        if header != "x-fault-stack":
            typer.echo(f"  {header}: {text}")
    typer.echo(f"\nStack:\n{letter.stack or '-'}")
    typer.echo(f"\nBody ({letter.content_type or 'no content type'}):\n{body}")


def _chosen(
    ids: list[int] | None, every: bool, where: DeadLetterFilter, filtered: bool
) -> Callable[[DeadLetterConsole], Awaitable[list[int]]]:
    if ids and (every or filtered):
        raise fail("give dead-letter IDs or --all/filters, not both", 2)
    if not ids and not every and not filtered:
        raise fail("give dead-letter IDs, --all, or a filter (--consumer, --reason, ...)", 2)
    return lambda console: console.select(ids or [], None if ids else where)


@dlq_app.command()
def replay(
    ids: IdsArg = None,
    *,
    every: AllOpt = False,
    consumer: ConsumerOpt = None,
    exception: ExceptionOpt = None,
    reason: ReasonOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    status: StatusOpt = StatusChoice.PARKED,
) -> None:
    """Send dead letters again, unchanged (same message id: the inbox drops duplicates)."""
    filters = (consumer, exception, reason, since, until)
    where = selection(
        consumer=consumer,
        exception=exception,
        reason=reason,
        since=since,
        until=until,
        status=status,
    )
    choose = _chosen(ids, every, where, any(f is not None for f in filters))

    async def work(console: DeadLetterConsole) -> int:
        chosen = await choose(console)
        if not chosen:
            raise DeadLetterNotFoundError("no dead letters match")
        with typer.progressbar(chosen, label="replaying", file=sys.stderr) as progress:
            for letter_id in progress:
                await console.replay(letter_id)
        return len(chosen)

    count = _with_console(work)
    typer.echo(f"replayed {count} dead letter{'s' if count != 1 else ''}")


@dlq_app.command()
def edit(
    letter_id: Annotated[int, typer.Argument(metavar="ID", help="Dead-letter id.")],
    payload: Annotated[
        str | None, typer.Option("--json", help="The corrected body; else $EDITOR opens.")
    ] = None,
) -> None:
    """Send a corrected copy with a new message id and ``replayed-from``."""
    if payload is None:
        letter = _with_console(lambda console: console.show(letter_id))
        original = pretty_body(letter.body) or letter.body.decode(errors="replace")
        payload = edit_in_editor(original)
        if payload is None or payload.strip() == original.strip():
            raise fail("nothing changed; no message sent")
    try:
        json.loads(payload)
    except ValueError as error:
        raise fail(f"the edited body is not JSON: {error}") from None
    body = payload.strip().encode()
    sent = _with_console(lambda console: console.edit(letter_id, body))
    typer.echo(f"sent {sent.message_id} to {sent.channel} (replayed from dead letter {letter_id})")


@dlq_app.command()
def purge(
    ids: IdsArg = None,
    *,
    every: AllOpt = False,
    consumer: ConsumerOpt = None,
    exception: ExceptionOpt = None,
    reason: ReasonOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    status: StatusOpt = StatusChoice.PARKED,
    hard: Annotated[bool, typer.Option(help="Delete the rows instead of marking them.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Give up on dead letters: mark them purged (``--hard``: delete them)."""
    filters = (consumer, exception, reason, since, until)
    where = selection(
        consumer=consumer,
        exception=exception,
        reason=reason,
        since=since,
        until=until,
        status=status,
    )
    chosen = _with_console(_chosen(ids, every, where, any(f is not None for f in filters)))
    if not chosen:
        raise fail("no dead letters match")
    verb = "Delete" if hard else "Purge"
    if not yes and not typer.confirm(f"{verb} {len(chosen)} dead letter(s)?"):
        raise fail("cancelled")
    count = _with_console(lambda console: console.purge(chosen, hard=hard))
    typer.echo(f"{'deleted' if hard else 'purged'} {count} dead letter{'s' if count != 1 else ''}")
