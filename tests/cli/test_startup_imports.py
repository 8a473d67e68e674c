"""The CLI starts without importing its heavy libraries: `quietpoll --version` and `quietpoll --help`
import neither numpy, polars, scipy, pyarrow nor rich (they are imported inside command bodies), and
the public API still loads on first use."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "polars", "scipy", "pyarrow", "rich", "pandas", "sklearn", "starlette", "uvicorn", "cryptography")


def _loaded_after(argv: list[str]) -> list[str]:
    code = (
        "import json, sys, contextlib, io\n"
        "from quietpoll.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({argv!r})\n"
        f"print(json.dumps([code, sorted(m for m in {HEAVY!r} if m in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    code, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert code == 0, out.stderr
    return loaded


def test_version_and_help_import_no_heavy_library():
    assert _loaded_after(["--version"]) == []
    assert _loaded_after(["--help"]) == []


def test_the_public_api_loads_on_first_use():
    code = (
        "import sys, quietpoll\n"
        "assert 'numpy' not in sys.modules and 'polars' not in sys.modules\n"
        "from quietpoll import svydesign, DesignSpec, read_data, Table\n"
        "assert callable(svydesign) and quietpoll.__version__\n"
        "assert set(quietpoll.__all__) <= set(dir(quietpoll))\n"
        "try:\n    quietpoll.nonexistent\nexcept AttributeError:\n    print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_every_registered_command_loads_under_its_own_name():
    import click

    from quietpoll.cli import COMMANDS, cli

    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name
    assert cli.get_command(ctx, "no-such-command") is None


def test_a_command_imports_only_its_own_module():
    code = (
        "import json, sys, contextlib, io\n"
        "from quietpoll.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['estimate', '--help'])\n"
        "print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('quietpoll.cli.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "estimate" in loaded
    assert not loaded & {"collect", "release", "report", "demo", "model", "checks"}


def test_a_lazy_estimator_name_is_the_function_whatever_was_imported_first():
    """No estimator module shares its name with the function the package exports lazily: importing the
    module first would otherwise leave the module where the function belongs."""
    code = (
        "import importlib, pkgutil, quietpoll.estimators as e\n"
        "mods = {m.name for m in pkgutil.iter_modules(e.__path__)}\n"
        "clash = sorted(set(e._WHERE) & mods)\n"
        "for m in mods:\n    importlib.import_module('quietpoll.estimators.' + m)\n"
        "import quietpoll\n"
        "bad = [n for n in e._WHERE if not callable(getattr(e, n)) and n != 'CI_METHODS']\n"
        "print(clash, bad, callable(quietpoll.quantile))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[] [] True", out.stdout + out.stderr
