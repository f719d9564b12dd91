"""PostgreSQL from Debian's ``postgresql`` package: the scheduler's shared job store and lease.

``vigil stack up --with postgres`` initialises a cluster in its own data directory (``initdb``)
and runs the server on ``127.0.0.1:stack.postgres_port`` with its socket in its own folder, so it
never touches a system-wide PostgreSQL. PostgreSQL refuses to run as root: as root it runs as the
system user ``stack.postgres_user`` via ``setpriv``, like Elasticsearch. Local connections are
trusted (loopback only, like the local Kafka and Elasticsearch, which have no authentication
either); the database ``vigil`` is created on first start. Point the schedulers at it with
``VIGIL_SCHEDULER_JOBSTORE_URL=postgresql+psycopg://vigil@127.0.0.1:55432/vigil``.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import subprocess
from pathlib import Path

from vigil.app.stack import accounts, paths, processes
from vigil.app.stack.errors import StackError
from vigil.core.config import Settings

NAME = "postgres"
HOST = "127.0.0.1"
USER = "vigil"
DATABASE = "vigil"
DEBIAN_BIN = Path("/usr/lib/postgresql")


def server_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding ``initdb`` (Debian's layout)."""
    found = sorted(
        (p for p in DEBIAN_BIN.glob("*/bin") if (p / "initdb").exists() and p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
    )
    if not found:
        raise StackError(
            f"postgres: no PostgreSQL server under {DEBIAN_BIN} (apt-get install postgresql, "
            "or point VIGIL_SCHEDULER_JOBSTORE_URL at an existing database)"
        )
    return found[-1]


class Postgres:
    name = NAME
    external = False

    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = accounts.service_root(settings, NAME)
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log = paths.log_file(settings, NAME)
        self.pid_path = paths.pid_file(settings, NAME)

    @property
    def port(self) -> int:
        return self.settings.stack.postgres_port

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the ``vigil`` database (psycopg 3)."""
        return f"postgresql+psycopg://{USER}@{HOST}:{self.port}/{DATABASE}"

    @property
    def version(self) -> str | None:
        try:
            return server_bin().parent.name
        except StackError:
            return None

    def run_as(self) -> pwd.struct_passwd | None:
        return accounts.run_as(self.settings.stack.postgres_user, NAME, "stack.postgres_user")

    # -- run -------------------------------------------------------------------------------
    def pid(self) -> int | None:
        return processes.read_pid(self.pid_path, expect=str(self.data_dir))

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def start(self) -> int:
        binaries = server_bin()
        if processes.port_open(HOST, self.port):
            raise StackError(
                f"postgres: port {HOST}:{self.port} is already in use by another process; "
                "free it or change stack.postgres_port"
            )
        account = self.run_as()
        for folder in (self.root, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if account is not None:
            accounts.hand_over(account, self.root, NAME)
        if not self.initialised():
            self._initdb(binaries, account)
        cmd = [
            str(binaries / "postgres"),
            "-D",
            str(self.data_dir),
            "-c",
            f"listen_addresses={HOST}",
            "-p",
            str(self.port),
            "-c",
            f"unix_socket_directories={self.socket_dir}",
            "-c",
            "shared_buffers=32MB",
            "-c",
            "max_connections=100",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        proc = processes.start(
            accounts.setpriv(account, cmd), log=self.log, pid_path=self.pid_path, env=env, cwd=self.root
        )
        return proc.pid

    def _initdb(self, binaries: Path, account: pwd.struct_passwd | None) -> None:
        cmd = [
            str(binaries / "initdb"),
            "-D",
            str(self.data_dir),
            f"--username={USER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        ]
        proc = subprocess.run(
            accounts.setpriv(account, cmd), capture_output=True, text=True, timeout=300, cwd=self.root
        )
        with open(self.log, "a") as out:
            out.write(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise StackError(
                f"postgres: initdb in {self.data_dir} failed (exit {proc.returncode}): "
                + (proc.stderr.strip().splitlines() or ["see " + str(self.log)])[-1]
            )

    def _connect(self, database: str):
        import psycopg

        return psycopg.connect(
            host=HOST, port=self.port, user=USER, dbname=database, connect_timeout=3, autocommit=True
        )

    def ensure_database(self) -> None:
        """Create the ``vigil`` database unless it exists."""
        with self._connect("postgres") as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def wait_ready(self, timeout: float) -> None:
        pid = self.pid()

        def ready() -> bool:
            self.ensure_database()
            return self.healthy()

        processes.wait_until(
            ready,
            service=NAME,
            timeout=timeout,
            log=self.log,
            alive=(lambda: processes.pid_alive(pid)) if pid else None,
        )

    def stop(self) -> bool:
        """Fast shutdown (SIGINT: roll back open sessions), then the usual TERM/KILL if it hangs."""
        pid = self.pid()
        if pid is None:
            return True
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        if not processes.wait_gone(pid, timeout=30):
            processes.stop(pid, timeout=10)
        gone = not processes.pid_alive(pid)
        if gone:
            self.pid_path.unlink(missing_ok=True)
        return gone

    # -- health ----------------------------------------------------------------------------
    def healthy(self) -> bool:
        """The ``vigil`` database answers a query."""
        if not processes.port_open(HOST, self.port):
            return False
        try:
            with self._connect(DATABASE) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except Exception:  # noqa: BLE001 - not up (yet)
            return False

    def server_version(self) -> str | None:
        try:
            with self._connect(DATABASE) as conn:
                text = conn.execute("SHOW server_version").fetchone()[0]
        except Exception:  # noqa: BLE001
            return None
        match = re.match(r"[0-9.]+", text)
        return match.group(0) if match else text

    def status(self) -> dict:
        healthy = self.healthy()
        return {
            "version": (self.server_version() if healthy else None) or self.version,
            "address": self.url if healthy else self.address,
            "healthy": healthy,
            "pid": self.pid(),
            "external": False,
            "log": str(self.log),
        }
