"""Elasticsearch 9.x single node from Elastic's integ-test zip on Maven Central.

The integ-test distribution has no bundled JDK (ES 9 needs Java >= 21) and no ``GET /``: readiness
is ``GET /_cluster/health`` yellow or green. ES refuses to run as root, so as root it runs as the
system user ``settings.stack.es_user`` (created on first start) via ``setpriv``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

from vigil.app.stack import java, maven, paths, processes
from vigil.app.stack.errors import StackError
from vigil.core.accounts import AccountError, system_account
from vigil.core.config import Settings

NAME = "elasticsearch"
MIN_JAVA = 21
ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"


def _world_traversable(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents] if p.exists())


def es_root(settings: Settings) -> Path:
    """Where ES's distribution and data live: ``<state>/elasticsearch`` when ES's account can reach it.

    As root, ES runs as an unprivileged account that cannot enter a state directory below a
    private folder (a 0700 checkout or temporary directory); then ES lives under
    ``/var/lib/vigil/<hash of the state directory>/`` instead, one folder per state directory.
    """
    if settings.stack.es_root is not None:
        return settings.stack.es_root.expanduser().resolve()
    default = settings.state_dir / "elasticsearch"
    if os.geteuid() != 0 or _world_traversable(settings.state_dir):
        return default
    digest = hashlib.sha256(str(settings.state_dir).encode()).hexdigest()[:12]
    return Path("/var/lib/vigil") / digest / "elasticsearch"


class Elasticsearch:
    name = NAME

    def __init__(self, settings: Settings):
        self.settings = settings
        self.version = settings.stack.elasticsearch_version
        self.root = es_root(settings)
        self.dist_parent = self.root / self.version
        self.home = self.dist_parent / f"elasticsearch-{self.version}"
        self.config_dir = self.root / "config"
        self.data_dir = self.root / "data"
        self.es_logs = self.root / "logs"
        self.tmp_dir = self.root / "tmp"
        self.es_run = self.root / "run"
        self.log = paths.log_file(settings, NAME)
        self.pid_path = paths.pid_file(settings, NAME)
        self.launcher_pid_path = paths.pid_file(settings, NAME + "-launcher")

    @property
    def external(self) -> bool:
        return self.settings.es_is_external

    @property
    def address(self) -> str:
        return self.settings.es.url

    @property
    def url(self) -> str:
        return self.settings.es.urls[0]

    @property
    def port(self) -> int:
        return self.settings.es.port

    @property
    def host(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.url).hostname or "127.0.0.1"

    # -- fetch -----------------------------------------------------------------------------
    def fetched(self) -> bool:
        return (self.dist_parent / ".complete").exists() and (self.home / "bin" / "elasticsearch").exists()

    def fetch(self) -> bool:
        """Download (into ~/.m2) and unpack the distribution; False when already unpacked."""
        if self.fetched():
            return False
        downloads = self.settings.state_dir / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        zip_path = downloads / f"elasticsearch-{self.version}.zip"
        if not zip_path.exists():
            maven.mvn(
                "dependency:copy",
                f"-Dartifact={ARTIFACT.format(version=self.version)}",
                f"-DoutputDirectory={downloads}",
                what=f"Elasticsearch {self.version} (integ-test-zip)",
            )
        if not zip_path.exists():
            raise StackError(f"cannot fetch Elasticsearch {self.version}: {zip_path} missing after mvn")
        tmp = self.dist_parent.with_name(self.version + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        _unzip(zip_path, tmp)
        (tmp / ".complete").write_text(self.version + "\n")
        shutil.rmtree(self.dist_parent, ignore_errors=True)
        tmp.rename(self.dist_parent)
        zip_path.unlink(missing_ok=True)  # ~/.m2 keeps a copy
        return True

    def java_home(self) -> Path:
        return java.find_java_home(
            MIN_JAVA,
            purpose=f"Elasticsearch {self.version}",
            explicit=self.settings.stack.es_java_home,
            env_vars=["ES_JAVA_HOME"],
            setting_name="stack.es_java_home",
        )

    # -- user ------------------------------------------------------------------------------
    def run_as(self) -> pwd.struct_passwd | None:
        """The account ES runs as when we are root (created if missing); None when not root."""
        user = self.settings.stack.es_user
        try:
            return system_account(user)
        except AccountError as exc:
            raise StackError(
                f"elasticsearch refuses to run as root and {exc} (set stack.es_user to an existing account)"
            ) from None

    def _check_traversable(self, account: pwd.struct_passwd) -> None:
        """ES (as ``account``) must reach the distribution and its config through every parent."""
        for parent in [self.root, *self.root.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001 and parent.stat().st_uid != account.pw_uid:
                raise StackError(
                    f"elasticsearch runs as {account.pw_name!r}, which cannot enter {parent} "
                    f"(mode {oct(mode & 0o777)}); put the state directory (VIGIL_HOME) somewhere "
                    "world-traversable or chmod o+x that directory"
                )

    # -- configure -------------------------------------------------------------------------
    def write_config(self) -> None:
        for d in (self.config_dir, self.data_dir, self.es_logs, self.tmp_dir, self.es_run):
            d.mkdir(parents=True, exist_ok=True)
        dist_conf = self.home / "config"
        for item in dist_conf.iterdir():
            if item.name == "elasticsearch.yml":
                continue
            target = self.config_dir / item.name
            if item.is_dir():
                shutil.copytree(item, target, dirs_exist_ok=True)
            elif not target.exists():
                shutil.copy2(item, target)
        options = {
            "cluster.name": "vigil",
            "node.name": "vigil-1",
            "path.data": str(self.data_dir),
            "path.logs": str(self.es_logs),
            "network.host": self.host,
            "http.port": self.port,
            "transport.port": self.settings.stack.es_transport_port,
            "discovery.type": "single-node",
            "xpack.security.enabled": False,
            "cluster.routing.allocation.disk.threshold_enabled": False,
        }
        (self.config_dir / "elasticsearch.yml").write_text(
            "# written by `vigil stack up`; edits are overwritten\n"
            + "".join(f"{k}: {json.dumps(v)}\n" for k, v in options.items())
        )
        heap = self.settings.stack.es_heap
        (self.config_dir / "jvm.options.d" / "vigil.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")

    def _chown(self, account: pwd.struct_passwd) -> None:
        for top in (self.config_dir, self.data_dir, self.es_logs, self.tmp_dir, self.es_run):
            for dirpath, _dirnames, filenames in os.walk(top):
                os.chown(dirpath, account.pw_uid, account.pw_gid)
                for f in filenames:
                    os.chown(os.path.join(dirpath, f), account.pw_uid, account.pw_gid)

    # -- run -------------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The server JVM's PID (written by ES itself), else the launcher's."""
        self._record_server_pid()
        return processes.read_pid(self.pid_path, expect="elasticsearch") or processes.read_pid(
            self.launcher_pid_path, expect="elasticsearch"
        )

    def start(self) -> int:
        if not self.fetched():
            raise StackError(f"elasticsearch {self.version} is not fetched: run `vigil stack fetch`")
        for port in (self.port, self.settings.stack.es_transport_port):
            if processes.port_open(self.host, port):
                raise StackError(
                    f"elasticsearch: port {self.host}:{port} is already in use by another process "
                    "(not a healthy Elasticsearch); free it or change es.url / stack.es_transport_port"
                )
        java_home = self.java_home()
        self.write_config()
        es_pid_file = self.es_run / "es.pid"
        es_pid_file.unlink(missing_ok=True)
        self.pid_path.unlink(missing_ok=True)
        account = self.run_as()
        cmd = [str(self.home / "bin" / "elasticsearch"), "-p", str(es_pid_file)]
        if account is not None:
            self._check_traversable(account)
            self._chown(account)
            setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
            cmd = [
                setpriv,
                f"--reuid={account.pw_uid}",
                f"--regid={account.pw_gid}",
                "--init-groups",
                "--",
                *cmd,
            ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "JAVA_", "CLI_JAVA"))}
        env.update(
            ES_JAVA_HOME=str(java_home),
            ES_PATH_CONF=str(self.config_dir),
            ES_TMPDIR=str(self.tmp_dir),
            HOME=str(self.root),
        )
        env.pop("JAVA_HOME", None)
        proc = processes.start(cmd, log=self.log, pid_path=self.launcher_pid_path, env=env, cwd=self.es_logs)
        return proc.pid

    def _record_server_pid(self) -> None:
        """Copy the PID ES wrote (as the ES user, in its own run dir) to <state>/run/."""
        pid = processes.read_pid(self.es_run / "es.pid")
        if pid and processes.read_pid(self.pid_path) != pid:
            try:
                processes.write_pid(self.pid_path, pid)
            except OSError:
                pass

    def wait_ready(self, timeout: float) -> None:
        launcher = processes.read_pid(self.launcher_pid_path, expect="elasticsearch")

        def ready() -> bool:
            self._record_server_pid()
            return self.healthy()

        processes.wait_until(
            ready,
            service="elasticsearch",
            timeout=timeout,
            log=self.log,
            alive=(lambda: processes.pid_alive(launcher) or self.pid() is not None) if launcher else None,
        )
        self._record_server_pid()

    def stop(self) -> bool:
        self._record_server_pid()
        ok = True
        for path in (self.pid_path, self.launcher_pid_path):
            pid = processes.read_pid(path, expect="elasticsearch")
            if pid:
                ok = processes.stop(pid, timeout=60) and ok
            if ok:
                path.unlink(missing_ok=True)
        return ok

    # -- health ----------------------------------------------------------------------------
    def health(self) -> dict | None:
        if self.external:
            try:
                from vigil.core.elastic import client

                es = client(self.settings.es, request_timeout=5)
                return dict(es.cluster.health())
            except Exception:  # noqa: BLE001
                return None
        try:
            with urllib.request.urlopen(f"{self.url}/_cluster/health", timeout=3) as resp:
                return json.loads(resp.read())
        except Exception:  # noqa: BLE001
            return None

    def healthy(self) -> bool:
        health = self.health()
        return bool(health) and health.get("status") in ("yellow", "green")

    def server_version(self) -> str | None:
        """The running node's version (``_nodes/_local``; the integ-test zip has no ``GET /``)."""
        try:
            if self.external:
                from vigil.core.elastic import client

                es = client(self.settings.es, request_timeout=5)
                nodes = dict(es.nodes.info(node_id="_local", filter_path="nodes.*.version"))
            else:
                url = f"{self.url}/_nodes/_local?filter_path=nodes.*.version"
                with urllib.request.urlopen(url, timeout=3) as resp:
                    nodes = json.loads(resp.read())
            return next(iter(nodes["nodes"].values()))["version"]
        except Exception:  # noqa: BLE001
            return None

    def status(self) -> dict:
        healthy = self.healthy()
        version = self.server_version() if healthy else None
        return {
            "version": version or (None if self.external else self.version),
            "address": self.address,
            "healthy": healthy,
            "pid": "external" if self.external else self.pid(),
            "external": self.external,
            "log": None if self.external else str(self.log),
        }


def _unzip(archive: Path, target: Path) -> None:
    unzip = shutil.which("unzip")
    if unzip:
        proc = subprocess.run(
            [unzip, "-q", "-o", str(archive), "-d", str(target)], capture_output=True, text=True
        )
        if proc.returncode == 0:
            return
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)
