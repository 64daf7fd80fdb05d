"""``commerce``: the operators' command line."""

import asyncio
from collections.abc import Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
import uvloop
from pydantic import ValidationError

from commerce.entrypoints.cli import actions as operations
from commerce.entrypoints.cli.common import fail, settings_or_exit
from commerce.entrypoints.cli.dlq import dlq_app
from commerce.entrypoints.cli.outbox import outbox_app
from commerce.entrypoints.cli.projections import projections_app
from commerce.entrypoints.cli.query import query
from commerce.registry.channels import COMMANDS_BY_NAME as COMMANDS

__all__ = ["app", "main"]

app = typer.Typer(
    name="commerce",
    help="Run and operate the commerce service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database set-up.", no_args_is_help=True)
asyncapi_app = typer.Typer(help="The AsyncAPI contract.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(asyncapi_app, name="asyncapi")
app.add_typer(dlq_app, name="dlq")
app.add_typer(outbox_app, name="outbox")
app.add_typer(projections_app, name="projections")
app.command()(query)


class Process(StrEnum):
    """What ``commerce run`` starts."""

    ALL = "all"
    WORKER = "worker"
    RELAY = "relay"


def _run[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on uvloop (its sockets and callbacks cost a fraction of asyncio's)."""
    try:
        return asyncio.run(coroutine, loop_factory=uvloop.new_event_loop)
    except operations.OperatorError as error:
        raise fail(str(error)) from None


@app.command()
def run(
    process: Annotated[Process, typer.Argument(help="worker, relay, or all (both).")] = Process.ALL,
) -> None:
    """Start the worker (HTTP on COMMERCE_HTTP__PORT) and/or the outbox relay."""
    settings = settings_or_exit()
    _run(operations.preflight(settings, wait=settings.startup_wait_seconds))
    _run(
        operations.serve(settings, worker=process != Process.RELAY, relay=process != Process.WORKER)
    )


@app.command()
def check() -> None:
    """Check that Postgres and the broker answer; say how to start what is missing."""
    settings = settings_or_exit()
    _run(operations.preflight(settings))
    typer.echo("all services reachable")


@app.command()
def migrate(revision: Annotated[str, typer.Option(help="Target revision.")] = "head") -> None:
    """Apply database migrations as the owner role."""
    _run(operations.migrate(settings_or_exit(), revision=revision))
    typer.echo(f"database migrated to {revision}")


@db_app.command("provision")
def provision() -> None:
    """Create the database and its owner, app and relay roles (needs the admin URL)."""
    _run(operations.provision(settings_or_exit()))
    typer.echo("database and roles provisioned")


@app.command()
def publish(
    command: Annotated[str, typer.Argument(help=f"One of: {', '.join(COMMANDS)}.")],
    payload: Annotated[str, typer.Option("--json", help="The command payload as JSON.")],
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
) -> None:
    """Validate a command against its schema, publish it and print its message id."""
    model = COMMANDS.get(command)
    if model is None:
        raise fail(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
    try:
        body = model.model_validate_json(payload)
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "payload"
            typer.secho(f"invalid {command}: {where}: {item['msg']}", err=True, fg="red")
        raise typer.Exit(2) from None
    message_id = _run(operations.publish(settings_or_exit(), body, tenant_id=tenant))
    typer.echo(str(message_id))


@asyncapi_app.command("export")
def asyncapi_export(
    out: Annotated[Path, typer.Option(help="Directory for the documents.")] = Path("asyncapi"),
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the committed documents are stale.")
    ] = False,
) -> None:
    """Write the AsyncAPI 3.0 documents (YAML and JSON, one per transport)."""
    stale = operations.export_asyncapi(out, check=check)
    if check and stale:
        raise fail(
            "AsyncAPI documents are stale: "
            + ", ".join(map(str, stale))
            + "; run `commerce asyncapi export` and commit the result"
        )
    typer.echo("AsyncAPI documents up to date" if check else f"AsyncAPI documents written to {out}")


def main() -> None:
    """Console-script entry point."""
    app()
