"""Elasticsearch 9.x single node from Elastic's integ-test zip on Maven Central.

The integ-test distribution has no bundled JDK (ES 9 needs Java >= 21) and no ``GET /``: readiness
is ``GET /_cluster/health`` yellow or green. ES refuses to run as root, so as root it runs as the
system user ``settings.stack.es_user`` (created on first start) via ``setpriv``.

With ``stack.nodes`` N > 1 (``vigil stack up --nodes N``) this is node ``n`` of an N-node cluster
on loopback that finds its peers through ``discovery.seed_hosts``; the nodes share the unpacked
distribution and keep their own config and data under ``<root>/cluster/node-<n>/``.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import zipfile
from pathlib import Path

from vigil.app.stack import accounts, es_security, java, maven, paths, processes
from vigil.app.stack.errors import StackError
from vigil.core.config import Settings

NAME = "elasticsearch"
MIN_JAVA = 21
ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"


def es_root(settings: Settings) -> Path:
    """Where ES's distribution and data live: ``stack.es_root``, else ``<state>/elasticsearch`` when
    ES's account can reach it, else a folder under ``/var/lib/vigil`` (see accounts.service_root)."""
    if settings.stack.es_root is not None:
        return settings.stack.es_root.expanduser().resolve()
    return accounts.service_root(settings, NAME)


class Elasticsearch:
    def __init__(self, settings: Settings, node: int = 1):
        self.settings = settings
        self.node = node
        self.nodes = settings.stack.nodes
        self.name = NAME if self.nodes == 1 else f"{NAME}-{node}"
        self.version = settings.stack.elasticsearch_version
        self.root = es_root(settings)
        self.dist_parent = self.root / self.version
        self.home = self.dist_parent / f"elasticsearch-{self.version}"
        node_dir = self.root if self.nodes == 1 else self.root / "cluster" / f"node-{node}"
        self.config_dir = node_dir / "config"
        self.data_dir = node_dir / "data"
        self.es_logs = node_dir / "logs"
        self.tmp_dir = node_dir / "tmp"
        self.es_run = node_dir / "run"
        self.log = paths.log_file(settings, self.name)
        self.pid_path = paths.pid_file(settings, self.name)
        self.launcher_pid_path = paths.pid_file(settings, self.name + "-launcher")

    @property
    def external(self) -> bool:
        return self.nodes == 1 and self.settings.es_is_external

    @property
    def secured(self) -> bool:
        """Security on the single node only: a cluster with security needs transport TLS."""
        return self.settings.stack.es_security and self.nodes == 1

    @property
    def address(self) -> str:
        return self.settings.es.url if self.nodes == 1 else self.url

    @property
    def url(self) -> str:
        return self.settings.es.urls[self.node - 1]

    @property
    def port(self) -> int:
        from urllib.parse import urlsplit

        return urlsplit(self.url).port or 9200

    def transport_port(self, node: int | None = None) -> int:
        return self.settings.stack.es_transport_port + (node or self.node) - 1

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
        return accounts.run_as(self.settings.stack.es_user, NAME, "stack.es_user")

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
        if self.nodes == 1:
            discovery: dict = {"discovery.type": "single-node"}
        else:
            peers = range(1, self.nodes + 1)
            discovery = {
                "discovery.seed_hosts": [f"{self.host}:{self.transport_port(n)}" for n in peers],
                # Read only when the cluster first forms; a restarted node rejoins from its data.
                "cluster.initial_master_nodes": [f"vigil-{n}" for n in peers],
            }
        options = {
            "cluster.name": "vigil" if self.nodes == 1 else "vigil-cluster",
            "node.name": f"vigil-{self.node}",
            "path.data": str(self.data_dir),
            "path.logs": str(self.es_logs),
            "network.host": self.host,
            "http.port": self.port,
            "transport.port": self.transport_port(),
            **discovery,
            "xpack.security.enabled": self.secured,
            "xpack.security.http.ssl.enabled": False,
            "xpack.security.transport.ssl.enabled": False,
            "cluster.routing.allocation.disk.threshold_enabled": False,
        }
        (self.config_dir / "elasticsearch.yml").write_text(
            "# written by `vigil stack up`; edits are overwritten\n"
            + "".join(f"{k}: {json.dumps(v)}\n" for k, v in options.items())
        )
        heap = self.settings.stack.es_heap
        (self.config_dir / "jvm.options.d" / "vigil.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")

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
        for port in (self.port, self.transport_port()):
            if processes.port_open(self.host, port):
                raise StackError(
                    f"{self.name}: port {self.host}:{port} is already in use by another process "
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
            accounts.hand_over(account, self.root, NAME)
            cmd = accounts.setpriv(account, cmd)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "JAVA_", "CLI_JAVA"))}
        env.update(
            ES_JAVA_HOME=str(java_home),
            ES_PATH_CONF=str(self.config_dir),
            ES_TMPDIR=str(self.tmp_dir),
            HOME=str(self.root),
        )
        env.pop("JAVA_HOME", None)
        if self.secured:
            es_security.keystore_bootstrap(self.home, env, self.settings, account)
            es_security.file_realm(self.home, env, self.settings)
            if account is not None:
                accounts.chown_tree(account, self.config_dir)
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
            service=self.name,
            timeout=timeout,
            log=self.log,
            alive=(lambda: processes.pid_alive(launcher) or self.pid() is not None) if launcher else None,
        )
        self._record_server_pid()
        if self.secured:
            es_security.configure(self.settings, self.url)

    def check_secured(self, report=None) -> None:
        """A running local ES should match ``stack.es_security``. One started open by an older Vigil
        is kept running with a warning naming the upgrade (other users of a shared stack go on
        working); when the configuration asks for security explicitly, it is an error."""
        if self.external or not self.secured or not es_security.unsecured(self.url):
            return
        message = (
            f"elasticsearch at {self.url} runs without security (started by an older Vigil or with "
            "stack.es_security: false); `vigil stack down && vigil stack up` restarts it with security "
            "and keeps its data"
        )
        if "es_security" in self.settings.stack.model_fields_set:
            raise StackError(message)
        if report is not None:
            report(self.name, "warning: " + message)

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
        auth = ("elastic", es_security.load(self.settings).get("elastic", "")) if self.secured else None
        status, answer = es_security.request(f"{self.url}/_cluster/health", auth=auth)
        return answer if status == 200 else None

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
                auth = ("elastic", es_security.load(self.settings).get("elastic", "")) if self.secured else None
                _, nodes = es_security.request(f"{self.url}/_nodes/_local?filter_path=nodes.*.version", auth=auth)
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
