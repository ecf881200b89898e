"""A throwaway PostgreSQL cluster for tests (no pytest here; see tests/fixtures/postgres.py).

``ThrowawayPostgres`` runs ``initdb`` into a fresh temporary directory, starts
``postgres`` on 127.0.0.1 at a free port with its unix socket inside that directory and
trust authentication, and on :meth:`stop` shuts it down (``pg_ctl stop -m fast``) and
removes every file. Durability is switched off (``fsync``, ``synchronous_commit``,
``full_page_writes``): the cluster lives for one test session.

PostgreSQL refuses to run as root, so when we are root the server binaries run as the
``postgres`` OS user (``runuser``) and the directory is handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

BINARIES = ("initdb", "pg_ctl", "postgres")
SERVER_USER = "postgres"


def _add_debian_server_binaries() -> None:
    """Debian's postgresql package (which ``make test`` installs when none is there) puts the
    server binaries in /usr/lib/postgresql/<major>/bin, off PATH: use the newest one then."""
    if shutil.which("initdb") is not None:
        return
    found = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if d.parent.name.isdigit()]
    if found:
        newest = max(found, key=lambda d: int(d.parent.name))
        os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + str(newest)


_add_debian_server_binaries()


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresStartError(RuntimeError):
    pass


@dataclass
class ThrowawayPostgres:
    superuser: str = "postgres"
    port: int = 0
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="trent-pg-")))
    _started: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.superuser} dbname={database}"

    # -- lifecycle --------------------------------------------------------------------

    def start(self, attempts: int = 3) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.root)
        self._hand_over(self.socket_dir)
        self._run(
            [
                "initdb",
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.superuser,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-sync",
            ]
        )
        last_error: PostgresStartError | None = None
        for _ in range(attempts):  # the free port can be taken between probe and bind
            self.port = free_port()
            try:
                self._pg_ctl_start()
                self._started = True
                return
            except PostgresStartError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        try:
            if self._started:
                self._run(["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w"])
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE ``name`` (optionally from ``template``); returns its URL."""
        import psycopg
        from psycopg import sql

        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(query)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # -- helpers ----------------------------------------------------------------------

    def _pg_ctl_start(self) -> None:
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        try:
            self._run(
                ["pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                 "-t", "60", "-o", options]
            )
        except PostgresStartError as exc:
            raise PostgresStartError(f"{exc}\n--- server log ---\n{self._log_tail()}") from None

    def _log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def _as_server_user(self, argv: Sequence[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SERVER_USER, "--", *argv]
        return list(argv)

    def _hand_over(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, argv: Sequence[str]) -> None:
        result = subprocess.run(
            self._as_server_user(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresStartError(
                f"{argv[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
