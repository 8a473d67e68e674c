"""How the CLI writes quietpoll's errors: the core names parameters (``QuietpollError.param``,
``{rho}`` in its message) and the CLI writes each as the running command's flag (``--rho``), or as the
parameter itself (the study.toml key) when that command has no such flag. Used by quietpoll.cli.main, the one
place errors become messages."""

from __future__ import annotations

import click

from ..errors import QuietpollError

__all__ = ["FLAGS", "QuietpollCommand", "QuietpollGroup", "command", "flag", "group", "render_error"]

# The core names parameters (QuietpollError.param, "{rho}" in its message); the CLI writes each as its flag.
# A parameter is its flag with "_" as "-" (rho -> --rho, lonely_psu -> --lonely-psu) except these:
FLAGS = {
    "mean_": "--mean",
    "total_": "--total",
    "ratio_": "--ratio",
    "quantile_": "--quantile",
    "indicators": "--indicator",
    "fmt": "--format",
}


def flag(param: str) -> str:
    """The command-line flag of a core parameter name."""
    return FLAGS.get(param) or "--" + param.rstrip("_").replace("_", "-")


class QuietpollCommand(click.Command):
    """A command that notes its own flags on a quietpoll error, so that the error names a parameter as
    this command's flag when it has one, and as the parameter (the study.toml key) when it has not."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except QuietpollError as e:
            e.cli_flags = frozenset(o for p in self.params for o in getattr(p, "opts", ()))
            raise


class QuietpollGroup(click.Group):
    command_class = QuietpollCommand
    group_class = type  # subgroups (keys, tokens, store) are QuietpollGroups with QuietpollCommands too


def render_error(e: QuietpollError) -> str:
    """The error's message with every parameter written as the running command's flag (as the parameter
    name when the command has no such flag, e.g. a study.toml key reached from `report`)."""
    own = e.cli_flags

    def name(param: str) -> str:
        f = flag(param)
        return f if own is None or f in own else param

    return e.render(name)


def command(*args, **kw):
    """click.command making a QuietpollCommand (its errors name its own flags)."""
    return click.command(*args, cls=QuietpollCommand, **kw)


def group(*args, **kw):
    """click.group making a QuietpollGroup (its commands are QuietpollCommands)."""
    return click.group(*args, cls=QuietpollGroup, **kw)
