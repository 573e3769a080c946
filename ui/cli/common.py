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

    engine = store.engine_for(settings())
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


def audited(action: str):
    """Record an administrator's command in the audit log (who, where, its arguments, how it ended), whether
    it succeeded or failed. Put it under `domain_errors`, so a refusal is recorded with its reason."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            outcome = "failed: interrupted"
            try:
                result = command(*args, **kwargs)
                outcome = "done"
                return result
            except typer.Exit as exc:
                outcome = "done" if not exc.exit_code else f"failed: exit {exc.exit_code}"
                raise
            except Exception as exc:
                outcome = f"failed: {exc}"
                raise
            finally:
                _record(action, kwargs, outcome)

        return wrapper

    return decorate


def _record(action: str, arguments: dict, outcome: str) -> None:
    from assistant import audit, store

    try:
        with store.transaction(migrated_engine()) as session:
            audit.record_admin_action(session, action=action, arguments=arguments, outcome=outcome)
    except Exception as exc:  # noqa: BLE001 (the command's own outcome stands; say that its record is missing)
        log(f"warning: `{action}` ({outcome}) could not be written to the audit log: {exc.__class__.__name__}: {exc}")
