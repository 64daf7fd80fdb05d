"""What every ``commerce`` command shares: loading settings and failing clearly."""

import typer

from commerce.bootstrap.wiring import configure_logging_from
from commerce.config import InvalidSettingsError, Settings, load_settings

__all__ = ["fail", "settings_or_exit"]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned exit with ``code``."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with one ``invalid setting:`` line per problem."""
    try:
        settings = load_settings()
    except InvalidSettingsError as error:
        for problem in error.problems:
            typer.secho(f"invalid setting: {problem}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    configure_logging_from(settings)
    return settings
