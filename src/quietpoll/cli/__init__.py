"""The `quietpoll` command line. It only translates flags into API calls and formats results;
quietpoll's errors become one line on stderr and exit status 2 here, in `main`, and only here.

The root group lists every command it registers (`COMMANDS`); each command lives in a module of this
package and imports only its siblings' public helpers (options.py, params.py, output.py, errors.py),
never this module. Heavy libraries (numpy, polars, rich, the design code) are imported when a command
runs, so `quietpoll --version` starts fast."""

from __future__ import annotations

import importlib
import warnings

import click

from ..errors import QuietpollError
from .errors import QuietpollGroup, render_error

__all__ = ["COMMANDS", "cli", "main"]


#: Every command of the CLI, by name: the module of this package that defines it and its attribute there.
#: The root group registers these and no others, and imports a command's module only when that command
#: (or the list of commands, for --help) is asked for, so one command does not pay for the others' imports.
COMMANDS: dict[str, tuple[str, str]] = {
    "estimate": ("estimate", "estimate"),
    "crosstab": ("estimate", "crosstab"),
    "model": ("model", "model"),
    "ttest": ("model", "ttest"),
    "weight": ("weight", "weight"),
    "validate": ("checks", "validate"),
    "quality": ("checks", "quality"),
    "disclosure": ("disclosure", "disclosure"),
    "release": ("release", "release"),
    "report": ("report", "report"),
    "export": ("report", "export"),
    "init": ("instrument", "init"),
    "codebook": ("instrument", "codebook"),
    "demo": ("demo", "demo"),
    "keys": ("collect", "keys"),
    "tokens": ("collect", "tokens"),
    "store": ("collect", "store_group"),
    "pull": ("collect", "pull"),
    "import-odk": ("collect", "import_odk"),
    "serve": ("collect", "serve"),
}


class _RootGroup(QuietpollGroup):
    """The root group: its commands are `COMMANDS`, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, attr = where
        command = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        if command.name != cmd_name:  # the registry and the command's own name must agree
            raise RuntimeError(f"COMMANDS[{cmd_name!r}] is the command {command.name!r}")
        return command


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="quietpoll")
def cli() -> None:
    """quietpoll: surveys of closed societies, from questionnaire to published numbers."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line and exit status 2 for any quietpoll or usage error, never a traceback."""
    warnings.formatwarning = lambda msg, *a, **k: f"quietpoll: warning: {msg}\n"
    try:
        cli.main(args=argv, prog_name="quietpoll", standalone_mode=False)
    except QuietpollError as e:
        click.echo(f"quietpoll: error: {render_error(e)}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("quietpoll: aborted", err=True)
        return 2
    except click.ClickException as e:
        click.echo(f"quietpoll: error: {e.format_message()}", err=True)
        return 2
    except BrokenPipeError:
        return 0
    return 0
