"""The collection commands of the `quietpoll` CLI (keys, tokens, store, pull, import-odk, serve). They only
translate flags into calls of quietpoll.collect; errors become messages in quietpoll.cli.main. Every command
takes the study folder as STUDY or --study DIR."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..errors import QuietpollError
from .errors import command, group
from .options import load_study_at as load_study
from .options import passphrase as _passphrase
from .options import study_argument
from .output import default_format as _default_format
from .params import RATE_LIMIT


def _store_url(study: str | None, store: str | None) -> str:
    if store:
        return store
    if study:
        cfg = load_study(study)
        url = cfg.collect.store
        if url:
            if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
                return "sqlite:///" + str(cfg.folder / url[len("sqlite:///") :])
            return url
        return "sqlite:///" + str(cfg.folder / "collect.db")
    raise QuietpollError("no store: give --store URL or a STUDY folder")


@group()
def keys() -> None:
    """The study's key pair: only the private key's holder can read the answers."""


@keys.command("new")
@study_argument()
def keys_new(study):
    """Write STUDY/keys/study.pub and STUDY/keys/study.key (encrypted under a passphrase)."""
    from ..collect.keys import new_keys

    pub, key = new_keys(Path(study), _passphrase("passphrase for the private key", confirm=True))
    click.echo(f"wrote {pub} (give to the collection server) and {key} (keep offline)")


@keys.command("split")
@study_argument()
@click.option("--threshold", "-t", type=int, required=True, help="Shares needed to rebuild the key.")
@click.option("--shares", "-n", type=int, required=True, help="Shares to make.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    help="Write each share to a file (mode 0600) in this new folder (0700) instead of printing them.",
)
def keys_split(study, threshold, shares, out_dir):
    """Split the private key into n shares, any t of which rebuild it (Shamir)."""
    from ..collect.keys import split_key, write_shares

    parts = split_key(Path(study) / "keys" / "study.key", _passphrase("passphrase"), threshold, shares)
    if out_dir:
        for path in write_shares(parts, out_dir):
            click.echo(f"wrote {path}")
        return
    for share in parts:
        click.echo(share)


_ARGV_SHARE = (
    "--share is refused: a share given on the command line is readable by every user of the machine "
    "in the process list (/proc/PID/cmdline, ps) and stays in the shell history. Give --share-file PATH "
    "(repeat it; '-' is standard input), pipe the shares on standard input (one a line), or run in a "
    "terminal to be asked for each without echo"
)


def _read_shares(share_files: tuple[str, ...]) -> list[str]:
    """Key shares from files (``-``: standard input), else piped standard input, else hidden prompts."""
    from ..collect.keys import read_share_lines, share_threshold

    if share_files:
        shares: list[str] = []
        for name in share_files:
            if name == "-":
                shares += read_share_lines(sys.stdin.read())
                continue
            path = Path(name)
            if not path.is_file():
                raise QuietpollError(f"--share-file {name}: file not found")
            shares += read_share_lines(path.read_text(encoding="utf-8", errors="replace"))
        return shares
    if not sys.stdin.isatty():
        shares = read_share_lines(sys.stdin.read())
        if not shares:
            raise QuietpollError(
                "no key shares: give --share-file PATH, pipe them on standard input or run in a terminal to be asked"
            )
        return shares
    first = click.prompt("share 1", hide_input=True).strip()
    shares = [first]
    for n in range(2, share_threshold(first) + 1):
        shares.append(click.prompt(f"share {n}", hide_input=True).strip())
    return shares


@keys.command("join")
@study_argument()
@click.option(
    "--share-file",
    "share_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A file with one share (or several, one a line); repeat for each. '-' reads standard input. "
    "Without it: shares piped on standard input, else asked for in a terminal (hidden).",
)
@click.option("--share", "argv_shares", multiple=True, hidden=True)
def keys_join(study, share_files, argv_shares):
    """Rebuild STUDY/keys/study.key from t shares, under a new passphrase. Shares are never taken from the
    command line (the process list and shell history would keep them)."""
    from ..collect.keys import join_key

    if argv_shares:
        raise QuietpollError(_ARGV_SHARE)
    shares = _read_shares(share_files)
    out = Path(study) / "keys" / "study.key"
    join_key(shares, out, _passphrase("new passphrase for the private key", confirm=True))
    click.echo(f"wrote {out}")


@group()
def tokens() -> None:
    """Interviewer tokens: pseudonymous and revocable."""


@tokens.command("add")
@study_argument()
@click.option("--name", "alias", required=True, help="A pseudonymous alias (never a real name).")
@click.option("--store", help="Store URL (default: the study's).")
@click.option("--form", "form_id", help="The form whose page the enrolment path opens (default: the study's form).")
@click.option("--ttl", type=float, default=None, help="Seconds the one-time enrolment code lives (default 86400).")
@click.option(
    "--supervisor",
    is_flag=True,
    help="A supervisor's token: it opens the supervisor's view (/s, counts "
    "from metadata) and cannot submit; no enrolment path.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def tokens_add(study, alias, store, form_id, ttl, supervisor, fmt):
    """Make a token for ALIAS and a one-time enrolment path (shown once; only hashes are kept).

    Open the enrolment path on the server (https://HOST/f/ROUTE#e=CODE; ROUTE is an opaque id of the
    form that says nothing of the study) in the interviewer's browser:
    the page exchanges the code, dead after its first use or --ttl seconds, for the token and keeps it
    only encrypted under a PIN. The token itself never appears in a URL."""
    from ..collect.enrolment import CODE_TTL, check_ttl
    from ..collect.shell import form_path
    from ..collect.store import Store

    check_ttl(CODE_TTL if ttl is None else ttl)  # before anything is stored
    if supervisor:
        s = Store.open(_store_url(study, store))
        try:
            token = s.add_supervisor(alias)
        finally:
            s.close()
        if fmt == "json":
            click.echo(json.dumps({"alias": alias, "token": token, "supervisor": True, "view_path": "/s"}))
        else:
            click.echo("supervisor's view: https://HOST/s (type the token there; it is kept nowhere)")
            click.echo(token)
        return
    if form_id is None:
        form_id = _study_form_id(study)
    s = Store.open(_store_url(study, store))
    try:
        token = s.add_token(alias)
        code = s.add_enrol_code(token, ttl)
        path = f"{form_path(s, form_id)}#e={code}"
    finally:
        s.close()
    if fmt == "json":
        click.echo(json.dumps({"alias": alias, "token": token, "enrol_path": path}))
    else:
        click.echo(f"enrolment path (open once on the server, then set a PIN): {path}")
        click.echo(token)


def _study_form_id(study: str) -> str:
    cfg = load_study(study)
    if not cfg.instrument.path:
        raise QuietpollError("no form for the enrolment path: give --form FORM_ID or [instrument] path in study.toml")
    from ..instrument.form import load_instrument

    return load_instrument(cfg.instrument.path).form_id


@tokens.command("list")
@study_argument()
@click.option("--store", help="Store URL (default: the study's).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def tokens_list(study, store, fmt):
    """The token aliases: revoked or not, when made (hour), supervisor or interviewer. Never a token."""
    from ..collect.store import Store

    s = Store.open(_store_url(study, store))
    try:
        sup = s.supervisors()
        rows = [{**t, "supervisor": t["alias"] in sup} for t in s.tokens()]
    finally:
        s.close()
    if (fmt or _default_format()) == "json":
        click.echo(json.dumps(rows))
        return
    for r in rows:
        role = "supervisor" if r["supervisor"] else "interviewer"
        click.echo(f"{r['alias']}  {role}  {'revoked' if r['revoked'] else 'active'}  made {r['created_at']}")


@tokens.command("revoke")
@study_argument()
@click.option("--name", "alias", required=True)
@click.option("--store", help="Store URL (default: the study's).")
def tokens_revoke(study, alias, store):
    """Revoke ALIAS's token: its submissions are refused from now on."""
    from ..collect.store import Store

    s = Store.open(_store_url(study, store))
    try:
        s.revoke_token(alias)
        click.echo(f"revoked {alias}")
    finally:
        s.close()


@group("store")
def store_group() -> None:
    """The encrypted submission store."""


@store_group.command("list")
@study_argument(required=False)
@click.option("--store", "url", help="sqlite:///path/collect.db (default: the study's).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def store_list(study, url, fmt):
    """List stored submissions: instance id, form id, received hour, token alias. Never their content."""
    from ..collect.store import Store

    s = Store.open(_store_url(study, url))
    try:
        rows = s.list()
    finally:
        s.close()
    fmt = fmt or _default_format()
    if fmt == "json":
        click.echo(json.dumps(rows))
    else:
        for r in rows:
            click.echo(f"{r['received_at']}  {r['form_id']}  {r['instance_id']}  {r['token_alias']}")


@store_group.command("stats")
@study_argument(required=False)
@click.option("--store", "url", help="Store URL (default: the study's).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def store_stats(study, url, fmt):
    """The supervisor's view from metadata only (nothing is decrypted): interviews per interviewer alias
    and day, set-aside rows, the last hour seen."""
    from ..collect.store import Store

    s = Store.open(_store_url(study, url))
    try:
        rows = s.stats()
    finally:
        s.close()
    if (fmt or _default_format()) == "json":
        click.echo(json.dumps({"interviewers": rows}))
        return
    from .output import console, rich_table

    t = rich_table(title="Interviews per interviewer (from the store's metadata)")
    for c in ("alias", "interviews", "set aside", "last seen (UTC hour)", "per day"):
        t.add_column(c, justify="right" if c in ("interviews", "set aside") else "left")
    for r in rows:
        days = ", ".join(f"{d}: {n}" for d, n in list(r["days"].items())[-7:])
        alias = f"{r['alias']} (revoked)" if r["revoked"] else r["alias"]
        t.add_row(alias, str(r["submissions"]), str(r["quarantined"]), r["last_seen"] or "-", days)
    console().print(t)


@store_group.command("quarantine")
@study_argument(required=False)
@click.option("--store", "url", help="Store URL (default: the study's).")
@click.option(
    "--release",
    "release",
    multiple=True,
    metavar="ID",
    help="Move the quarantined submission ID back to the submissions (repeat for each).",
)
@click.option("--purge", "purge", multiple=True, metavar="ID", help="Delete the quarantined submission ID for good.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), help="Output (table on a terminal).")
def store_quarantine(study, url, release, purge, fmt):
    """List the submissions set aside (undecryptable, replayed, malformed or conflicting): id, received
    hour, form, token alias, reason; release or purge them by id. Never their content."""
    from ..collect.store import Store

    s = Store.open(_store_url(study, url))
    try:
        for qid in release:
            s.release(qid)
            click.echo(f"released {qid}", err=True)
        for qid in purge:
            s.purge(qid)
            click.echo(f"purged {qid}", err=True)
        rows = s.quarantined()
    finally:
        s.close()
    fmt = fmt or _default_format()
    if fmt == "json":
        click.echo(json.dumps(rows))
    else:
        for r in rows:
            click.echo(
                f"{r['id']}  {r['received_at']}  {r['form_id']}  {r['instance_id']}  {r['token_alias']}  {r['reason']}"
            )


@command()
@study_argument()
@click.option("--key", "key_path", type=click.Path(), help="The private key (default STUDY/keys/study.key).")
@click.option(
    "--out", type=click.Path(), help="Responses file to write (.csv, .parquet, ...) (default: the study's [data] path)."
)
@click.option("--store", help="Store URL (default: the study's).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object {rows, out, files, quarantined: {count, aliases, rows}}.",
)
def pull(study, key_path, out, store, fmt):
    """Decrypt every stored submission into a responses file, on the key holder's machine. Submissions
    that cannot be used (junk, replayed, malformed) are set aside, never stopping the pull: their count and
    token aliases are reported on stderr (see `quietpoll store quarantine`). The interviewer is written as
    a pseudonym (column _interviewer), never as the alias."""
    from ..collect.keys import load_private, load_public
    from ..collect.store import Store, pull_all

    out = out or _study_data_path(study)
    key = load_private(Path(key_path) if key_path else Path(study) / "keys" / "study.key", _passphrase("passphrase"))
    device_only = _device_only_fields(study)
    pub_path = Path(study) / "keys" / "study.pub"
    public = load_public(pub_path) if pub_path.is_file() else None
    s = Store.open(_store_url(study, store))
    try:
        result = pull_all(s, key, out, public_key=public, device_only=device_only)
    finally:
        s.close()
    if result.quarantined:
        where = (
            "see quietpoll store quarantine"
            if result.moved
            else "the store could not be written (a read-only copy?), so they stay among the submissions"
        )
        click.echo(
            f"set aside {len(result.quarantined)} submission(s) that could not be used, sent with "
            f"token(s) {', '.join(result.aliases)}: {where}",
            err=True,
        )
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "rows": result.rows,
                    "out": str(out),
                    "files": [str(f) for f in result.files],
                    "quarantined": {
                        "count": len(result.quarantined),
                        "aliases": result.aliases,
                        "moved": result.moved,
                        "rows": result.quarantined,
                    },
                }
            )
        )
    else:
        click.echo(f"wrote {result.rows} submission(s) to {out}")


def _study_data_path(study) -> Path:
    """The study's [data] path (where `pull` and `import-odk` write when --out is not given)."""
    cfg = load_study(study) if study and (Path(study).is_file() or (Path(study) / "study.toml").exists()) else None
    if cfg is None or cfg.data_path is None:
        raise QuietpollError("no output file: give --out FILE (or a study with a [data] path)")
    return cfg.data_path


def _device_only_fields(study) -> dict[str, frozenset[str]]:
    """form id -> the study form's device-only fields (pull drops them if an older client sealed them)."""
    cfg = load_study(study) if (Path(study) / "study.toml").exists() else None
    if cfg is None or not cfg.instrument.path:
        return {}
    from ..instrument.form import load_instrument

    inst = load_instrument(cfg.instrument.path)
    return {inst.form_id: inst.device_only}


@command("import-odk")
@click.argument("source", type=click.Path())
@click.option("--key", "key_path", required=True, type=click.Path(), help="The ODK form's RSA private key (PEM).")
@click.option("--form", "form_path", type=click.Path(), help="The XLSForm (default: the study's [instrument] path).")
@click.option(
    "--out", type=click.Path(), help="Responses file to write (.csv, .parquet, ...) (default: the study's [data] path)."
)
@click.option(
    "--study",
    type=click.Path(),
    help="Study folder whose form ([instrument] path) and data file ([data] "
    "path) to use when --form or --out is not given.",
)
@click.option("--media", "media_dir", type=click.Path(), help="Folder for decrypted media (default: OUT-media).")
def import_odk(source, key_path, form_path, out, study, media_dir):
    """Decrypt ODK encrypted-form submissions (Briefcase storage or Central download, folder or zip) with
    the ODK private key into a responses file. A passphrase-protected key reads its passphrase from
    QUIETPOLL_ODK_PASSPHRASE or a prompt. Never overwrites a file; writes files 0600. ODK's signature
    only detects accidental damage: anybody with the form's public key can make one."""
    from ..collect.odk import SIGNATURE_NOTE, import_odk as _import, key_needs_passphrase, load_odk_key
    from ..instrument.form import load_instrument

    if form_path is None:
        cfg = load_study(study) if study else None
        form_path = cfg.instrument.path if cfg else None
        if not form_path:
            raise QuietpollError("no form: give --form FORM.xlsx (or --study STUDY with [instrument] path)")
    out = out or _study_data_path(study)
    passphrase = None
    if key_needs_passphrase(key_path):
        passphrase = _passphrase(
            "passphrase of the ODK private key",
            env="QUIETPOLL_ODK_PASSPHRASE",
            missing="the ODK key needs its passphrase",
        )
    result = _import(source, load_odk_key(key_path, passphrase), load_instrument(form_path), out, media_dir)
    extra = [f"{n} {name} row(s) in {p.name}" for (name, n), p in zip(result.repeats.items(), result.files[1:])]
    if result.media_files:
        extra.append(f"{result.media_files} media file(s) in {result.media_dir}")
    click.echo(f"wrote {result.submissions} submission(s) to {out}" + (f" ({'; '.join(extra)})" if extra else ""))
    click.echo(f"note: {SIGNATURE_NOTE}")


@command()
@study_argument()
@click.option("--store", help="Store URL (default: STUDY/collect.db).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port, each with its own store connection; rate limits are "
    "held in the store, so they act as one (so do servers on several machines on one PostgreSQL).",
)
@click.option(
    "--rate-limit",
    "rate_limit",
    type=RATE_LIMIT,
    default="60/60",
    show_default=True,
    help="Submissions per interviewer token per window of SECONDS, counted in the store.",
)
def serve(study, store, host, port, workers, rate_limit):
    """Run the collection server (submission API) for the study. No IP addresses or user agents are
    logged: uvicorn's access log is off and client addresses are removed before any handler runs.
    Every submission of the form has one envelope size; a text answer may take at most the study's
    [collect] text_max_bytes (default 500) bytes."""
    import uvicorn

    from ..collect.app import uvicorn_options

    from ..collect.http import raise_nofile_limit

    limit = rate_limit
    # hardened (collect/http.py) and never "trace": it logs client addresses
    options = uvicorn_options(raise_nofile_limit()) | {"log_level": "warning"}
    if workers == 1:
        app = _serve_app(study, store, limit)
        _announce(app, host, port, workers)
        try:
            uvicorn.run(app, host=host, port=port, **options)
        finally:
            app.state.store.close()  # settles the store (the WAL, arrival order)
        return
    checked = _serve_app(study, store, limit)  # check the study, form and key here, once, clearly
    checked.state.store.close()
    _announce(checked, host, port, workers)
    os.environ[_SERVE_ENV] = json.dumps({"study": str(Path(study).resolve()), "store": store, "rate_limit": limit})
    uvicorn.run("quietpoll.cli.collect:serve_factory", factory=True, workers=workers, host=host, port=port, **options)


_SERVE_ENV = "QUIETPOLL_SERVE"


def _announce(app, host: str, port: int, workers: int) -> None:
    """Where the server listens and its pages (the operator's terminal; nothing of a respondent)."""
    base = f"http://{host}:{port}"
    click.echo(
        f"serving on {base} ({workers} process{'es' if workers > 1 else ''}); behind the TLS proxy, "
        "give interviewers https://HOST + their enrolment path"
    )
    for route, form_id in sorted(getattr(app.state, "form_routes", {}).items(), key=lambda kv: kv[1]):
        click.echo(f"  form {form_id}: {base}/f/{route}")
    click.echo(f"  supervisor's view: {base}/s   submissions: {base}/api/v1/submissions")


def serve_factory():
    """The app of one `serve --workers N` process (uvicorn calls it in each worker): the study, store and
    rate limit come from the parent through the environment, never the command line."""
    cfg = json.loads(os.environ[_SERVE_ENV])
    return _serve_app(cfg["study"], cfg["store"], tuple(cfg["rate_limit"]))


def _serve_app(study, store, rate_limit):
    """The collection app for the study on its own store connection (``app.state.store``, closed when
    the server shuts down)."""
    import contextlib

    from ..collect.app import create_app
    from ..collect.store import Store

    cfg = load_study(study)
    forms, instruments = None, {}
    if cfg.instrument.path:
        from ..instrument.form import load_instrument

        from ..collect.sizing import TEXT_MAX_BYTES, envelope_size

        text_max = cfg.collect.text_max_bytes or TEXT_MAX_BYTES
        inst = load_instrument(cfg.instrument.path)
        forms = {inst.form_id: {"title": inst.title, "envelope_size": envelope_size(inst, text_max)}}
        instruments = {inst.form_id: inst}
    opened = Store.open(_store_url(study, store))
    app = create_app(opened, forms=forms, rate_limit=rate_limit)
    app.state.store = opened

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        opened.close()  # a server that stops settles its store (the WAL, arrival order)

    app.router.lifespan_context = lifespan
    if instruments:
        import base64

        from ..collect.keys import load_public
        from ..collect.web import add_form_routes, browser_unsupported

        for inst in instruments.values():
            problems = browser_unsupported(inst)
            if problems:
                opened.close()
                raise QuietpollError(
                    f"the browser form cannot run '{inst.form_id}' safely ({len(problems)} "
                    f"problem(s), e.g. {problems[0]}); a question whose logic cannot run "
                    "would be shown to everyone. Change the form or use another collection tool"
                )
        public = load_public(Path(study) / "keys" / "study.pub")  # a clear error when missing or damaged
        from ..collect.shell import load_disguise

        disguise = load_disguise(cfg.collect.disguise, cfg.folder)
        add_form_routes(
            app,
            instruments,
            base64.b64encode(public.public_bytes_raw()).decode("ascii"),
            store=opened,
            disguise=disguise,
            text_max_bytes=text_max,
        )
    return app
