"""What both command lines share: a Typer app with plain errors, and exit status 2 for bad input."""

from __future__ import annotations

import typer


def make_app(help_text: str) -> typer.Typer:
    return typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        # Plain click errors: one line naming the option, easy to read and to grep in logs.
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        help=help_text,
    )


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned Exit (status 2, like click's usage errors)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)
