"""What every subcommand shares: settings, turning domain errors into exit codes, stderr logging."""

from __future__ import annotations

import functools
import sys

import typer

from assistant.errors import EXPECTED_ERRORS
from assistant.settings import Settings

# Exit codes: 1 a problem the user can fix in their data or settings, 2 a usage error (typer's own).
EXIT_PROBLEM = 1


def log(message: str) -> None:
    """Progress for people, on stderr, so stdout stays machine-readable."""
    print(message, file=sys.stderr, flush=True)


def settings() -> Settings:
    return Settings()


def migrated_engine():
    """The settings' database, migrated to the newest schema (commands that only touch the store)."""
    from assistant import store

    engine = store.make_engine(settings().db_url)
    store.migrate(engine)
    return engine


def domain_errors(command):
    """Print a domain error's message (it says what to do) and exit 1, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EXPECTED_ERRORS as exc:
            log(f"error: {exc}")
            raise typer.Exit(EXIT_PROBLEM) from exc

    return wrapper
