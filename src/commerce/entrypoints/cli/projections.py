"""``commerce projections``: list the projections, rebuild one into a fresh table.

``rebuild NAME`` runs as the owner role (``COMMERCE_DATABASE__MIGRATION_URL``): it replays
the projection's source (the event store, or the current rows of state-stored aggregates)
into ``<table>_rebuild`` with a progress bar, catches up on what committed meanwhile, then
swaps the new table in atomically while readers keep answering (ADR 0013). Exit codes: 0
swapped, 1 the rebuild failed (nothing was swapped), 2 invalid arguments.
"""

import asyncio
import sys
from typing import Annotated, Any

import typer

from commerce.bootstrap.operators import PROJECTIONS, rebuild_projection
from commerce.entrypoints.cli.common import fail, settings_or_exit
from commerce.platform.read_side.projection_rebuild import RebuildBusyError

__all__ = ["projections_app"]

projections_app = typer.Typer(help="Read-model projections: list, rebuild.", no_args_is_help=True)


class _ProgressBar:
    """A progress bar opened once the rebuild knows how many updates its snapshot holds."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: Any = None
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = typer.progressbar(length=total, label=self._label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.length = max(self._bar.length or 0, total)
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@projections_app.command("list")
def list_projections() -> None:
    """The projections that can be rebuilt."""
    for name in PROJECTIONS:
        typer.echo(name)


@projections_app.command("rebuild")
def rebuild(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(PROJECTIONS)}.")],
) -> None:
    """Replay NAME's source into a fresh table and swap it in; readers keep answering."""
    if name not in PROJECTIONS:
        raise fail(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}", 2)
    settings = settings_or_exit()
    bar = _ProgressBar(f"rebuilding {name}")
    try:
        report = asyncio.run(rebuild_projection(settings, name, progress=bar))
    except RebuildBusyError as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"database unreachable: {error}") from None
    finally:
        bar.close()
    typer.echo(
        f"rebuilt {report.projection}: {report.updates} updates in {report.passes} passes, "
        f"{report.seconds:.1f} s (swap {report.swap_seconds * 1000:.0f} ms); swapped in"
    )
