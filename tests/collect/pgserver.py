"""A throwaway PostgreSQL server for the tests, on loopback, from Debian's packages.

``pg_server`` (a session-scoped pytest fixture) creates a cluster in a temporary folder (owned by the
``postgres`` user when the tests run as root, since PostgreSQL refuses to run as root), starts it on
127.0.0.1 at a free port with its socket in that folder, and yields a :class:`PgServer`; afterwards
the server is stopped and the folder removed. Every wait is bounded.

Without the server binaries the fixture skips outside CI, and fails when ``CI`` is set (the CI must
install them: scripts/install-test-deps.sh).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_REASON = "PostgreSQL server binaries not installed (apt-get install postgresql)"
_TIMEOUT = 120  # seconds for initdb, start and stop


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin holding initdb and pg_ctl (or PG_BINDIR)."""
    candidates = [os.environ["PG_BINDIR"]] if os.environ.get("PG_BINDIR") else []

    def version(path: str) -> tuple:
        try:
            return (int(Path(path).parent.name),)
        except ValueError:
            return (0,)

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    bindir: Path
    datadir: Path
    port: int
    user: str
    password: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"qp_{secrets.token_hex(6)}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Cluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root but there is no 'postgres' user to run the server as") from None
        self.root = Path(tempfile.mkdtemp(prefix="qp-pg-"))
        self.datadir = self.root / "data"
        self.started = False

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(a) for a in args]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=_TIMEOUT, cwd=self.root)
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}\n{tail}")

    def start(self) -> PgServer:
        os.chmod(self.root, 0o700)
        if self.as_root:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        password = secrets.token_urlsafe(16)
        pwfile = self.root / "pw"
        pwfile.write_text(password + "\n")
        if self.as_root:
            os.chown(pwfile, self.owner.pw_uid, self.owner.pw_gid)
        self._run(
            self.bindir / "initdb", "-D", self.datadir, "-U", "postgres", "--pwfile", pwfile,
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        last: Exception | None = None
        for _ in range(3):  # the free port could be taken between choosing and binding it
            port = _free_port()
            opts = f"-k {self.root} -c listen_addresses=127.0.0.1 -p {port}"
            try:
                self._run(
                    self.bindir / "pg_ctl", "-D", self.datadir, "-l", self.root / "server.log",
                    "-w", "-t", str(_TIMEOUT), "-o", opts, "start",
                )  # fmt: skip
            except RuntimeError as exc:
                last = exc
                continue
            self.started = True
            server = PgServer(self.bindir, self.datadir, port, "postgres", password)
            self._wait_ready(server)
            return server
        raise RuntimeError(f"the PostgreSQL test server did not start: {last}")

    def _wait_ready(self, server: PgServer) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(server.url(), connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        try:
            if self.started:
                self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "-t", "60", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    bindir = find_bindir()
    if bindir is None:
        if in_ci():
            pytest.fail(f"CI: {SKIP_REASON}; scripts/install-test-deps.sh must run first", pytrace=False)
        pytest.skip(SKIP_REASON)
    cluster = _Cluster(bindir)
    try:
        server = cluster.start()
    except BaseException:
        cluster.stop()
        raise
    try:
        yield server
    finally:
        cluster.stop()


# -- one store fixture for every backend ---------------------------------------------------------------

#: the backends every store behaviour test runs on (quietpoll.collect.backend.open_store picks by URL)
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """The URL of a new, empty store on each backend in turn: a SQLite file in the test's folder
    (``collect.db``), then a fresh database on the session's PostgreSQL (dropped afterwards). Under
    CI=true a missing PostgreSQL fails the test (see :func:`pg_server`)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'collect.db'}"
        return
    server = request.getfixturevalue("pg_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


def raw_rows(url: str, sql: str) -> list[tuple]:
    """The rows of ``sql`` read straight from the store's database, around quietpoll (what someone
    holding the database sees); bytea/BLOB values as bytes."""
    if url.startswith("sqlite:///"):
        import sqlite3

        db = sqlite3.connect(url[len("sqlite:///") :])
        try:
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in db.execute(sql)]
        finally:
            db.close()
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        cur = conn.execute(sql)
        if cur.description is None:  # a command (CHECKPOINT): no rows
            return []
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in cur]
