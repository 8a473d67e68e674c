"""The `quietpoll` command line. It only translates flags into API calls and formats results;
quietpoll's errors become one line on stderr and exit status 2 here, in `main`, and only here.

The root group lists every command it registers (`COMMANDS`); each command lives in a module of this
package and imports only its siblings' public helpers (options.py, params.py, output.py, errors.py),
never this module. Heavy libraries (numpy, polars, rich, the design code) are imported when a command
runs, so `quietpoll --version` starts fast."""

from __future__ import annotations

import warnings

import click

from ..errors import QuietpollError
from . import checks, collect, demo, disclosure, estimate, instrument, model, release, report, weight
from .errors import QuietpollGroup, render_error

__all__ = ["COMMANDS", "cli", "main"]


@click.group(cls=QuietpollGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="quietpoll")
def cli() -> None:
    """quietpoll: surveys of closed societies, from questionnaire to published numbers."""


#: Every command of the CLI: the root group registers these and no others.
COMMANDS: tuple[click.Command, ...] = (
    estimate.estimate,
    estimate.crosstab,
    model.model,
    model.ttest,
    weight.weight,
    checks.validate,
    checks.quality,
    disclosure.disclosure,
    release.release,
    report.report,
    report.export,
    instrument.init,
    instrument.codebook,
    demo.demo,
    collect.keys,
    collect.tokens,
    collect.store_group,
    collect.pull,
    collect.import_odk,
    collect.serve,
)
for _command in COMMANDS:
    cli.add_command(_command)


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
