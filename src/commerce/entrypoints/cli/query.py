"""``commerce query``: ask a query over the broker and print the reply (operators' tool).

Exit codes: 0 answered, 1 ``QueryFailed`` or no answer in time, 2 invalid arguments.
"""

import asyncio
from typing import Annotated
from uuid import UUID

import typer
from pydantic import ValidationError

from commerce.bootstrap.operators import query_client
from commerce.entrypoints.cli.common import fail, settings_or_exit
from commerce.platform.messaging.queries import Query, QueryReply
from commerce.platform.read_side.query_client import QueryFailedError, QueryUnansweredError
from commerce.registry.queries import QUERIES_BY_NAME

__all__ = ["query"]


def query(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(QUERIES_BY_NAME)}.")],
    tenant: Annotated[UUID, typer.Option(help="The tenant whose data is read.")],
    payload: Annotated[str, typer.Option("--json", help="The query as JSON.")] = "{}",
    within: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait.")] = 5.0,
) -> None:
    """Ask a query over the broker and print the reply as JSON."""
    model = QUERIES_BY_NAME.get(name)
    if model is None:
        raise fail(f"unknown query {name!r}; known: {', '.join(QUERIES_BY_NAME)}", 2)
    try:
        asked = model.model_validate_json(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise fail(f"invalid {name}: {where}: {first['msg']}", 2) from None
    settings = settings_or_exit()

    async def ask(question: Query) -> QueryReply:
        async with query_client(settings) as client:
            return await client.ask(question, tenant_id=tenant, within=within)

    try:
        reply = asyncio.run(ask(asked))
    except QueryFailedError as error:
        raise fail(str(error)) from None
    except (QueryUnansweredError, OSError) as error:
        raise fail(f"no answer: {error}") from None
    typer.echo(reply.model_dump_json(indent=2))
