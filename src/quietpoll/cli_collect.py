"""The collection commands of the `quietpoll` CLI (keys, tokens, store, pull, import-odk, serve). They only
translate flags into calls of quietpoll.collect; errors become messages in cli.main."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .cli import _default_format, cli
from .errors import QuietpollError
from .study import load_study


def _passphrase(prompt: str, confirm: bool = False) -> str:
    """QUIETPOLL_PASSPHRASE, else a hidden prompt (never a command-line argument: it would be in the
    shell history and the process list)."""
    value = os.environ.get("QUIETPOLL_PASSPHRASE")
    if value:
        return value
    if not sys.stdin.isatty():
        raise QuietpollError("no passphrase: set QUIETPOLL_PASSPHRASE or run in a terminal to be asked")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


def _store_url(study: str | None, store: str | None) -> str:
    if store:
        return store
    if study:
        cfg = load_study(study)
        url = cfg.collect.store
        if url:
            if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
                return "sqlite:///" + str(cfg.folder / url[len("sqlite:///"):])
            return url
        return "sqlite:///" + str(cfg.folder / "collect.db")
    raise QuietpollError("no store: give --store URL or a STUDY folder")


@cli.group()
def keys() -> None:
    """The study's key pair: only the private key's holder can read the answers."""


@keys.command("new")
@click.argument("study", type=click.Path())
def keys_new(study):
    """Write STUDY/keys/study.pub and STUDY/keys/study.key (encrypted under a passphrase)."""
    from .collect.keys import new_keys

    pub, key = new_keys(Path(study), _passphrase("passphrase for the private key", confirm=True))
    click.echo(f"wrote {pub} (give to the collection server) and {key} (keep offline)")


@keys.command("split")
@click.argument("study", type=click.Path())
@click.option("--threshold", "-t", type=int, required=True, help="Shares needed to rebuild the key.")
@click.option("--shares", "-n", type=int, required=True, help="Shares to make.")
def keys_split(study, threshold, shares):
    """Split the private key into n shares, any t of which rebuild it (Shamir)."""
    from .collect.keys import split_key

    for share in split_key(Path(study) / "keys" / "study.key", _passphrase("passphrase"), threshold, shares):
        click.echo(share)


@keys.command("join")
@click.argument("study", type=click.Path())
@click.option("--share", "shares", multiple=True, required=True, help="A share (repeat for each).")
def keys_join(study, shares):
    """Rebuild STUDY/keys/study.key from t shares, under a new passphrase."""
    from .collect.keys import join_key

    out = Path(study) / "keys" / "study.key"
    join_key(list(shares), out, _passphrase("new passphrase for the private key", confirm=True))
    click.echo(f"wrote {out}")


@cli.group()
def tokens() -> None:
    """Interviewer tokens: pseudonymous and revocable."""


@tokens.command("add")
@click.argument("study", type=click.Path())
@click.option("--name", "alias", required=True, help="A pseudonymous alias (never a real name).")
@click.option("--store", help="Store URL (default: the study's).")
def tokens_add(study, alias, store):
    """Print a new token for ALIAS (shown once; only its hash is kept)."""
    from .collect.store import Store

    s = Store.open(_store_url(study, store))
    try:
        click.echo(s.add_token(alias))
    finally:
        s.close()


@tokens.command("revoke")
@click.argument("study", type=click.Path())
@click.option("--name", "alias", required=True)
@click.option("--store", help="Store URL (default: the study's).")
def tokens_revoke(study, alias, store):
    """Revoke ALIAS's token: its submissions are refused from now on."""
    from .collect.store import Store

    s = Store.open(_store_url(study, store))
    try:
        s.revoke_token(alias)
        click.echo(f"revoked {alias}")
    finally:
        s.close()


@cli.group("store")
def store_group() -> None:
    """The encrypted submission store."""


@store_group.command("list")
@click.option("--store", "url", required=True, help="sqlite:///path/collect.db")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def store_list(url, fmt):
    """List stored submissions: instance id, form id, received hour. Never their content."""
    from .collect.store import Store

    s = Store.open(url)
    try:
        rows = s.list()
    finally:
        s.close()
    fmt = fmt or _default_format()
    if fmt == "json":
        click.echo(json.dumps(rows))
    else:
        for r in rows:
            click.echo(f"{r['received_at']}  {r['form_id']}  {r['instance_id']}")


@cli.command()
@click.argument("study", type=click.Path())
@click.option("--key", "key_path", type=click.Path(), help="The private key (default STUDY/keys/study.key).")
@click.option("--out", required=True, type=click.Path(), help="Responses file to write (.csv, .parquet, ...).")
@click.option("--store", help="Store URL (default: the study's).")
def pull(study, key_path, out, store):
    """Decrypt every stored submission into a responses file, on the key holder's machine."""
    from .collect.keys import load_private
    from .collect.store import Store, pull as _pull

    key = load_private(Path(key_path) if key_path else Path(study) / "keys" / "study.key",
                       _passphrase("passphrase"))
    s = Store.open(_store_url(study, store))
    try:
        n = _pull(s, key, out)
    finally:
        s.close()
    click.echo(f"wrote {n} submission(s) to {out}")


@cli.command("import-odk")
@click.argument("source", type=click.Path())
@click.option("--key", "key_path", required=True, type=click.Path(), help="The ODK form's RSA private key (PEM).")
@click.option("--form", "form_path", type=click.Path(), help="The XLSForm (default: the study's [instrument] path).")
@click.option("--out", required=True, type=click.Path(), help="Responses file to write (.csv, .parquet, ...).")
@click.option("--study", type=click.Path(), help="Study folder whose form to use when --form is not given.")
@click.option("--media", "media_dir", type=click.Path(), help="Folder for decrypted media (default: OUT-media).")
def import_odk(source, key_path, form_path, out, study, media_dir):
    """Decrypt ODK encrypted-form submissions (Briefcase storage or Central download, folder or zip) with
    the ODK private key into a responses file. A passphrase-protected key reads its passphrase from
    QUIETPOLL_ODK_PASSPHRASE or a prompt."""
    from .collect.odk import import_odk as _import, key_needs_passphrase, load_odk_key
    from .instrument.form import load_instrument

    if form_path is None:
        cfg = load_study(study) if study else None
        form_path = cfg.instrument.path if cfg else None
        if not form_path:
            raise QuietpollError("no form: give --form FORM.xlsx (or --study STUDY with [instrument] path)")
    passphrase = None
    if key_needs_passphrase(key_path):
        passphrase = os.environ.get("QUIETPOLL_ODK_PASSPHRASE")
        if not passphrase:
            if not sys.stdin.isatty():
                raise QuietpollError("the ODK key needs its passphrase: set QUIETPOLL_ODK_PASSPHRASE or run in a "
                                     "terminal to be asked")
            passphrase = click.prompt("passphrase of the ODK private key", hide_input=True)
    result = _import(source, load_odk_key(key_path, passphrase), load_instrument(form_path), out, media_dir)
    extra = [f"{n} {name} row(s) in {p.name}" for (name, n), p in zip(result.repeats.items(), result.files[1:])]
    if result.media_files:
        extra.append(f"{result.media_files} media file(s) in {result.media_dir}")
    click.echo(f"wrote {result.submissions} submission(s) to {out}" + (f" ({'; '.join(extra)})" if extra else ""))


@cli.command()
@click.argument("study", type=click.Path())
@click.option("--store", help="Store URL (default: STUDY/collect.db).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
def serve(study, store, host, port):
    """Run the collection server (submission API) for the study. No IP addresses or user agents are
    logged: uvicorn's access log is off and client addresses are removed before any handler runs."""
    import uvicorn

    from .collect.app import create_app, uvicorn_options
    from .collect.store import Store

    cfg = load_study(study)
    forms, instruments = None, {}
    if cfg.instrument.path:
        from .instrument.form import load_instrument

        inst = load_instrument(cfg.instrument.path)
        forms, instruments = {inst.form_id: {"title": inst.title}}, {inst.form_id: inst}
    opened = Store.open(_store_url(study, store))
    app = create_app(opened, forms=forms)
    if instruments:
        import base64

        from .collect.keys import load_public
        from .collect.web import add_form_routes, browser_unsupported

        for inst in instruments.values():
            problems = browser_unsupported(inst)
            if problems:
                raise QuietpollError(f"the browser form cannot run '{inst.form_id}' safely ({len(problems)} "
                                     f"problem(s), e.g. {problems[0]}); a question whose logic cannot run "
                                     "would be shown to everyone. Change the form or use another collection tool")
        public = load_public(Path(study) / "keys" / "study.pub")  # a clear error when missing or damaged
        add_form_routes(app, instruments, base64.b64encode(public.public_bytes_raw()).decode("ascii"), store=opened)
    options = uvicorn_options() | {"log_level": "warning"}   # never "trace": it logs client addresses
    uvicorn.run(app, host=host, port=port, **options)
