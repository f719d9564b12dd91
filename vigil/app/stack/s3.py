"""SeaweedFS (Apache-2.0) as the local S3-compatible evidence store: ``vigil stack up --with s3``.

Built once from its Go module (``go build`` of ``SEAWEEDFS_VERSION``, the Go proxy's pseudo-version;
its go.mod has replace directives, so ``go install module@version`` refuses it) into the user's
cache, ``~/.cache/vigil/bin/weed@<version>/weed`` (``$XDG_CACHE_HOME``), with Go's own module and
build caches: a cold build takes minutes (10-25 on two cores), so like the Maven jars in ~/.m2 it
is shared by every checkout and state directory of the machine. One
``weed server`` runs master, volume, filer and S3 gateway on loopback only, on a block of ports
from ``stack.s3_port`` (S3 itself on ``s3_port``), telemetry off, data in ``<state>/s3``. As root
it runs as ``stack.s3_user`` like Elasticsearch and PostgreSQL. The first start generates one
admin identity (access and secret key) and saves it 0600 in ``<state>/s3-credentials.json``;
Settings uses it when ``evidence.store`` is ``s3://...`` and no key is configured.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from vigil.app.stack import accounts, paths, processes
from vigil.app.stack.errors import StackError
from vigil.core.config import S3_CREDENTIALS_FILE, Settings

NAME = "s3"
HOST = "127.0.0.1"
MODULE = "github.com/seaweedfs/seaweedfs"
SEAWEEDFS_VERSION = "v0.0.0-20261109003541-7506e5f91cd6"
GO_CANDIDATES = ("/usr/local/go/bin/go", "/usr/lib/go/bin/go")
BUILD_TIMEOUT = 3600
# Offsets from stack.s3_port of the gateway and the servers behind it.
PORTS = {
    "s3.port": 0,
    "s3.port.grpc": 1,
    "master.port": 2,
    "master.port.grpc": 3,
    "volume.port": 4,
    "volume.port.grpc": 5,
    "filer.port": 6,
    "filer.port.grpc": 7,
}


def go_binary() -> str:
    found = shutil.which("go") or next((p for p in GO_CANDIDATES if Path(p).exists()), None)
    if found is None:
        raise StackError("s3: SeaweedFS is built from its Go module and no Go toolchain was found (make setup)")
    return found


def tools_dir() -> Path:
    """Built tools shared by every state directory of this user (like ~/.m2 for the jars)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "vigil"


def go_env() -> dict[str, str]:
    return {
        **os.environ,
        "GOFLAGS": "-mod=mod -modcacherw -buildvcs=false",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }


class SeaweedS3:
    name = NAME
    external = False
    version = SEAWEEDFS_VERSION
    source = "its Go module (go build, once)"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = accounts.service_root(settings, NAME)
        self.data_dir = self.root / "data"
        self.config_path = self.root / "s3.json"
        self.log = paths.log_file(settings, NAME)
        self.pid_path = paths.pid_file(settings, NAME)
        self.credentials_path = settings.state_dir / S3_CREDENTIALS_FILE
        self.binary = tools_dir() / "bin" / f"weed@{SEAWEEDFS_VERSION}" / "weed"
        self.executable = self.root / "bin" / "weed"  # a copy the service account can reach

    @property
    def port(self) -> int:
        return self.settings.stack.s3_port

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.address}"

    # -- build -----------------------------------------------------------------------------
    def fetched(self) -> bool:
        return self.binary.exists()

    def fetch(self) -> bool:
        """Build ``weed`` from the Go module unless already built; True when it was built now."""
        if self.fetched():
            return False
        go = go_binary()
        env = go_env()
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        download = subprocess.run(
            [go, "mod", "download", "-json", f"{MODULE}@{SEAWEEDFS_VERSION}"],
            capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT, cwd=tools_dir(),
        )  # fmt: skip
        try:
            source = Path(json.loads(download.stdout)["Dir"])
        except (ValueError, KeyError):
            raise StackError(f"s3: go mod download {MODULE}@{SEAWEEDFS_VERSION} failed: {download.stderr.strip()[-500:]}") from None
        partial = self.binary.with_name("weed.part")
        started = time.monotonic()
        built = subprocess.run(
            [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(partial), "./weed"],
            capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT, cwd=source,
        )  # fmt: skip
        with open(self.log, "a") as out:
            out.write(built.stdout + built.stderr)
            out.write(f"built {self.binary} in {time.monotonic() - started:.0f}s\n")
        if built.returncode != 0:
            raise StackError(f"s3: building SeaweedFS failed (exit {built.returncode}): {built.stderr.strip()[-500:]}")
        os.chmod(partial, 0o755)
        partial.replace(self.binary)
        return True

    # -- credentials -----------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        """The generated admin identity (made and saved 0600 on first use)."""
        try:
            return json.loads(self.credentials_path.read_text())
        except (OSError, ValueError):
            pass
        data = {
            "access_key": "vigil" + secrets.token_hex(8),
            "secret_key": secrets.token_urlsafe(30),
            "endpoint": self.endpoint,
        }
        fd = os.open(self.credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        return data

    def _write_config(self, account: pwd.struct_passwd | None) -> None:
        keys = self.credentials()
        identity = {
            "name": "vigil",
            "credentials": [{"accessKey": keys["access_key"], "secretKey": keys["secret_key"]}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"identities": [identity]}, handle)
        if account is not None:
            os.chown(self.config_path, account.pw_uid, account.pw_gid)

    # -- run -------------------------------------------------------------------------------
    def run_as(self) -> pwd.struct_passwd | None:
        return accounts.run_as(self.settings.stack.s3_user, NAME, "stack.s3_user")

    def pid(self) -> int | None:
        return processes.read_pid(self.pid_path, expect=str(self.data_dir))

    def command(self) -> list[str]:
        ports = [f"-{flag}={self.port + offset}" for flag, offset in PORTS.items()]
        return [
            str(self.executable),
            "server",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-dir={self.data_dir}",
            "-filer",
            "-s3",
            f"-s3.config={self.config_path}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.root / 's3.sock'}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=256",
            "-volume.max=0",
            *ports,
        ]

    def start(self) -> int:
        if not self.fetched():
            self.fetch()
        busy = [p for p in (self.port + offset for offset in PORTS.values()) if processes.port_open(HOST, p)]
        if busy:
            raise StackError(
                f"s3: ports {busy} on {HOST} are already in use by another process; "
                "free them or change stack.s3_port (it uses a block of 8 ports from there)"
            )
        account = self.run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.executable.parent.mkdir(parents=True, exist_ok=True)
        if not self.executable.exists() or self.executable.stat().st_mtime != self.binary.stat().st_mtime:
            shutil.copy2(self.binary, self.executable)
        if account is not None:
            accounts.hand_over(account, self.root, NAME)
        self._write_config(account)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIGIL_"))}
        proc = processes.start(
            accounts.setpriv(account, self.command()), log=self.log, pid_path=self.pid_path, env=env, cwd=self.root
        )
        return proc.pid

    def wait_ready(self, timeout: float) -> None:
        pid = self.pid()
        processes.wait_until(
            self.healthy,
            service=NAME,
            timeout=timeout,
            log=self.log,
            alive=(lambda: processes.pid_alive(pid)) if pid else None,
        )

    def stop(self) -> bool:
        pid = self.pid()
        if pid is None:
            return True
        processes.stop(pid, timeout=20)
        gone = not processes.pid_alive(pid)
        if gone:
            self.pid_path.unlink(missing_ok=True)
        return gone

    # -- health ----------------------------------------------------------------------------
    def client(self):
        import boto3
        from botocore.config import Config

        keys = self.credentials()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys["access_key"],
            aws_secret_access_key=keys["secret_key"],
            config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def healthy(self) -> bool:
        """The gateway answers an authenticated ListBuckets with the generated identity."""
        if not processes.port_open(HOST, self.port):
            return False
        try:
            self.client().list_buckets()
            return True
        except Exception:  # noqa: BLE001 - not up (yet), or the filer behind it is not
            return False

    def status(self) -> dict:
        healthy = self.healthy()
        return {
            "version": SEAWEEDFS_VERSION,
            "address": self.endpoint if healthy else self.address,
            "healthy": healthy,
            "pid": self.pid(),
            "external": False,
            "log": str(self.log),
        }
