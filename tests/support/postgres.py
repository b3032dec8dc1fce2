"""A real PostgreSQL server for the test session, from Debian's package (real servers, isolated per test).

`initdb` into a fresh temporary directory, `postgres` in the foreground on 127.0.0.1 with a free
port and its Unix socket in that directory, stopped in `finally`. The server refuses to run as
root, so under root it runs as the `postgres` system user (or `nobody`) in a directory that user
owns.

Clients log in the way a real installation would: role `talker` (not a superuser, so the
migrations are proven to need no more than a database owner has) with a password over TCP,
scram-sha-256. That URL is what the PBX and Kamailio's db_postgres get. The fixture itself
administers the server as the bootstrap superuser over the private Unix socket (trust: only the
server's user and root can enter that directory).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.processes import free_port

ROLE = "talker"
SUPERUSER = "postgres"
BIN_ENV = "TALKER_PG_BIN"  # a directory holding initdb and postgres, to test another version


class PostgresUnavailable(Exception):
    """PostgreSQL is not installed here: tests that need it are skipped with this reason."""


class PostgresError(Exception):
    """The server could not be set up or did not answer; the message carries the log's tail."""


def find_bin_dir() -> Path:
    """The newest Debian PostgreSQL whose server binaries are installed (or $TALKER_PG_BIN)."""
    override = os.environ.get(BIN_ENV)
    candidates = [override] if override else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for d in candidates:
        if all(os.access(os.path.join(d, exe), os.X_OK) for exe in ("initdb", "postgres")):
            return Path(d)
    where = override or "/usr/lib/postgresql/*/bin"
    raise PostgresUnavailable(f"PostgreSQL server binaries (initdb, postgres) are not in {where}: "
                              f"install Debian's 'postgresql' package (scripts/setup does)")


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


class PostgresServer:
    """One PostgreSQL cluster. Use as a context manager, or call start() and stop()."""

    def __init__(self, bin_dir: Path | None = None):
        self.bin_dir = bin_dir or find_bin_dir()
        self.password = secrets.token_hex(16)  # hex: nothing a URL parser could trip over
        self.host = "127.0.0.1"
        self.port = 0
        self.base_dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._names = itertools.count(1)
        self._run_as: pwd.struct_passwd | None = None

    # --- paths -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    @property
    def log_path(self) -> Path:
        return self.base_dir / "postgres.log"

    def url(self, database: str) -> str:
        """What the PBX is given: SQLAlchemy's spelling (pbx.db turns it into Kamailio's)."""
        return f"postgresql://{ROLE}:{self.password}@{self.host}:{self.port}/{database}"

    # --- life cycle --------------------------------------------------------------------
    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> PostgresServer:
        self._run_as = self._unprivileged_user()
        # Not under pytest's tmp dirs: those are root-only (0700) and the server's user must
        # be able to reach its own directory.
        self.base_dir = Path(tempfile.mkdtemp(prefix="talker-pg-"))
        try:
            if self._run_as is not None:
                os.chown(self.base_dir, self._run_as.pw_uid, self._run_as.pw_gid)
            self._initdb(timeout)
            # The free port can be taken between probing and binding: try a few.
            for _ in range(3):
                self.port = free_port()
                if self._launch(timeout):
                    break
            else:
                raise PostgresError(f"postgres found no free port on {self.host}: {self.log_tail()}")
            self._create_role()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM is PostgreSQL's "smart" shutdown; test databases hold no sessions worth
        waiting for, so SIGINT ("fast": disconnect clients) comes first. SIGKILL if it hangs."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.send_signal(signal.SIGTERM)
                    try:
                        self.proc.wait(timeout / 3)
                    except subprocess.TimeoutExpired:
                        self._kill_group()
                        self.proc.wait(10)
            elif self.proc is not None:
                self._kill_group()  # the postmaster died: reap any backend it left
        finally:
            self.proc = None
            if self.base_dir is not None:
                shutil.rmtree(self.base_dir, ignore_errors=True)
                self.base_dir = None

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def _unprivileged_user(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        raise PostgresUnavailable("running as root and there is neither a 'postgres' nor a "
                                  "'nobody' user to run the PostgreSQL server as")

    def _popen_kwargs(self) -> dict:
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC", "PGTZ": "UTC"}
        kwargs: dict = {"cwd": self.base_dir, "env": env, "stdin": subprocess.DEVNULL,
                        "start_new_session": True}
        if self._run_as is not None:
            env["HOME"] = str(self.base_dir)
            kwargs.update(user=self._run_as.pw_uid, group=self._run_as.pw_gid, extra_groups=[])
        return kwargs

    def _initdb(self, timeout: float) -> None:
        cmd = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
               "--encoding=UTF8", "--no-locale", "--no-sync",
               "--auth-local=trust", "--auth-host=scram-sha-256"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  **self._popen_kwargs())
        except subprocess.TimeoutExpired:
            raise PostgresError(f"initdb did not finish within {timeout:.0f} s") from None
        if done.returncode != 0:
            raise PostgresError(f"initdb failed (code {done.returncode}): "
                                f"{_tail(done.stderr or done.stdout)}")

    def _launch(self, timeout: float) -> bool:
        """Start the postmaster; False if the port was taken meanwhile (the caller retries)."""
        cmd = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir),
               "-h", self.host, "-p", str(self.port), "-k", str(self.socket_dir),
               # Throwaway data: durability only costs time on a shared 2-core machine.
               "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
               "-c", "logging_collector=off", "-c", "log_min_messages=warning",
               "-c", "password_encryption=scram-sha-256", "-c", "max_connections=200"]
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf, **self._popen_kwargs())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.log_tail()
                if "could not bind" in log or "Address already in use" in log:
                    self.proc = None
                    return False
                raise PostgresError(f"postgres exited at start (code {self.proc.returncode}): {log}")
            if self._accepts_connections():
                return True
            time.sleep(0.1)
        raise PostgresError(f"postgres did not accept connections on {self.host}:{self.port} "
                            f"within {timeout:.0f} s: {self.log_tail()}")

    def _accepts_connections(self) -> bool:
        import psycopg

        try:
            with self._admin(connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _create_role(self) -> None:
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(self.password)))

    @contextlib.contextmanager
    def _admin(self, connect_timeout: int = 10) -> Iterator:
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER,
                             dbname="postgres", autocommit=True,
                             connect_timeout=connect_timeout) as conn:
            yield conn

    # --- databases ---------------------------------------------------------------------
    def create_database(self) -> str:
        """A new empty database owned by `talker`; returns its URL."""
        from psycopg import sql

        name = f"talker_{next(self._names)}_{secrets.token_hex(3)}"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(ROLE)))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database even if a Kamailio worker or a pool still holds a connection."""
        from psycopg import sql

        name = url.rsplit("/", 1)[1]
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        url = self.create_database()
        try:
            yield url
        finally:
            self.drop_database(url)

    def log_tail(self, lines: int = 8) -> str:
        try:
            return _tail(self.log_path.read_text(errors="replace"), lines)
        except (OSError, TypeError):
            return "(no log)"


def _tail(text: str, lines: int = 8) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:]) or "(empty)"
