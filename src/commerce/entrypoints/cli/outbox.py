"""``commerce outbox``: the relay's backlog, parked rows, and handing them back to the relay.

Works as the relay role (``COMMERCE_DATABASE__RELAY_URL``), the one role that sees every
tenant's outbox rows. Exit codes: 0 done, 1 the operation failed (a row not parked, none
parked, database unreachable), 2 invalid arguments.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC
from typing import Annotated, Any

import typer

from commerce.bootstrap.operators import outbox_console
from commerce.entrypoints.cli.common import fail, settings_or_exit

__all__ = ["outbox_app"]

outbox_app = typer.Typer(
    help="The transactional outbox: status, parked rows, retry.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output.")]


def _on_console[T](work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work`` on the outbox console; operators' errors become ``error:`` lines."""
    settings = settings_or_exit()

    async def run() -> T:
        async with outbox_console(settings) as console:
            return await work(console)

    try:
        return asyncio.run(run())
    except LookupError as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"database unreachable: {error}") from None


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(max(seconds, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}h{minutes:02d}m{rest:04.1f}s" if hours else f"{minutes}m{rest:04.1f}s"


@outbox_app.command()
def status(as_json: JsonOpt = False) -> None:
    """Backlog, oldest unsent row, parked rows and sent rows awaiting the purge."""
    state = _on_console(lambda console: console.status())
    if as_json:
        typer.echo(json.dumps(asdict(state), indent=2))
        return
    typer.echo(f"backlog           {state.backlog} row(s) not yet published")
    typer.echo(f"oldest unsent     {_age(state.oldest_unsent_age)} ago")
    typer.echo(f"parked            {state.parked} row(s) the relay could not read")
    typer.echo(f"sent, kept        {state.sent} row(s), {state.due_for_purge} due for purge")


@outbox_app.command("list-parked")
def list_parked(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Rows at most.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List parked rows (unreadable by the relay) in position order, with their error."""
    rows = _on_console(lambda console: console.parked(limit=limit))
    if as_json:
        typer.echo(json.dumps([asdict(row) for row in rows], indent=2, default=str))
        return
    if not rows:
        typer.echo("no parked outbox rows", err=True)
        return
    for row in rows:
        failed = row.failed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        typer.echo(
            f"{row.position}  {row.event_type}  {row.stream}/{row.aggregate_id}  "
            f"message {row.message_id}  tenant {row.tenant_id}  parked {failed}"
        )
        typer.echo(f"    {row.last_error or '(no error recorded)'}")


@outbox_app.command("retry-parked")
def retry_parked(
    positions: Annotated[
        list[int] | None,
        typer.Option("--position", help="A parked row's position (repeatable).", min=1),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every parked row.")] = False,
) -> None:
    """Hand parked rows back to the relay, which publishes them on its next pass."""
    if bool(positions) == every:
        raise fail("give --position N (repeatable) or --all", 2)
    retried = _on_console(lambda console: console.retry(None if every else positions))
    if not retried:
        raise fail("no parked outbox rows")
    typer.echo(f"retried {len(retried)} parked row(s): {', '.join(map(str, retried))}")
