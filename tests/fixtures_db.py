"""Database fixtures: `db_url` runs a test on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL comes from STORYWATCH_TEST_PG_URL (a server URL whose user may CREATE DATABASE) or, if
that is unset, from a throwaway server this module starts once per session (initdb + pg_ctl, on a
free port on 127.0.0.1, socket and data in a temp dir, run as `postgres` when we are root). Every
test gets its own fresh database. Without a server the PostgreSQL cases skip, saying why; under
CI=true they fail instead, because CI must run them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.store import Store, open_store

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL_ENV = "STORYWATCH_TEST_PG_URL"


@dataclass
class _PgServer:
    url: str | None
    reason: str = ""


def _find_pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ThrowawayServer:
    """A private PostgreSQL cluster in a temp dir, with durability off (tests never need it)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="storywatch-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            # PostgreSQL refuses to run as root.
            shutil.chown(self.root, user="postgres")

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> str:
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync", "--locale=C.UTF-8",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""


@pytest.fixture(scope="session")
def _pg_server() -> Iterator[_PgServer]:
    configured = os.environ.get(PG_URL_ENV)
    if configured:
        yield _PgServer(str(make_url(configured).set(drivername="postgresql+asyncpg")))
        return
    bin_dir = _find_pg_bin()
    if bin_dir is None:
        yield _PgServer(None, f"no PostgreSQL: set {PG_URL_ENV} or install postgresql (.ci/pg-setup.sh)")
        return
    server = _ThrowawayServer(bin_dir)
    try:
        url = server.start()
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or server.log_tail()
        server.stop()
        yield _PgServer(None, f"could not start PostgreSQL from {bin_dir}: {exc} {detail}".strip())
        return
    try:
        yield _PgServer(url)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server_url(_pg_server: _PgServer) -> str:
    """The URL of a PostgreSQL server's maintenance database (skips, or fails in CI, without one)."""
    if _pg_server.url is None:
        if IN_CI:
            pytest.fail(f"CI must run the PostgreSQL tests: {_pg_server.reason}")
        pytest.skip(_pg_server.reason)
    return _pg_server.url


async def _admin(server_url: str, sql: str) -> None:
    import asyncpg

    url = make_url(server_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def pg_url(pg_server_url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"sw_test_{uuid.uuid4().hex[:16]}"
    await _admin(pg_server_url, f'CREATE DATABASE "{name}"')
    try:
        yield str(make_url(pg_server_url).set(database=name))
    finally:
        await _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'storywatch.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn (the test runs once per backend)."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """An open, migrated Store on `db_url`, closed after the test."""
    opened = await open_store(db_url)
    try:
        yield opened
    finally:
        await opened.close()
