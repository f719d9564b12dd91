"""Apache Kafka 4.x in KRaft combined mode (broker+controller), from Maven Central jars.

One node for the single-node stack; with ``stack.nodes`` N > 1 (``vigil stack up --nodes N``), node
``n`` of an N-voter static quorum, with replication factor min(3, N) and min.insync.replicas one less.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from vigil.app.stack import java, maven, paths, processes
from vigil.app.stack.errors import StackError
from vigil.core.config import Settings

NAME = "kafka"
MIN_JAVA = 17


SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


class Kafka:
    """The local broker (one node of a local cluster when ``stack.nodes`` > 1); with
    ``kafka.security_protocol: SASL_PLAINTEXT`` and a SCRAM mechanism it authenticates every client
    (SCRAM users made at format time) and authorises them by ACLs.

    ``lib`` reuses jars fetched for another state directory (a second broker for a test);
    ``scram_users`` are extra SCRAM users besides ``kafka.sasl_username`` (the broker's super user).
    """

    def __init__(
        self, settings: Settings, node: int = 1, *, lib: Path | None = None, scram_users: dict[str, str] | None = None
    ):
        self.settings = settings
        self.node = node
        self.nodes = settings.stack.nodes
        self.name = NAME if self.nodes == 1 else f"{NAME}-{node}"
        self.version = settings.stack.kafka_version
        self.root = settings.state_dir / "kafka"
        self.lib = lib or self.root / self.version / "lib"
        self.scram_users = dict(scram_users or {})
        node_dir = self.root if self.nodes == 1 else self.root / "cluster" / f"node-{node}"
        self.config_dir = node_dir / "config"
        self.data_dir = node_dir / "data"
        self.log = paths.log_file(settings, self.name)
        self.pid_path = paths.pid_file(settings, self.name)

    # -- where -----------------------------------------------------------------------------
    @property
    def external(self) -> bool:
        return self.nodes == 1 and self.settings.kafka_is_external

    @property
    def address(self) -> str:
        return self.settings.kafka.bootstrap if self.nodes == 1 else self.settings.kafka.servers[self.node - 1]

    @property
    def host(self) -> str:
        return self.settings.kafka.servers[self.node - 1].rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.settings.kafka.servers[self.node - 1].rpartition(":")[2])

    def controller_port(self, node: int | None = None) -> int:
        return self.settings.kafka.controller_port + (node or self.node) - 1

    def client_options(self) -> dict:
        """The configured client options; a cluster node is asked on its own listener only."""
        options = self.settings.kafka.client_options()
        if self.nodes > 1:
            options["bootstrap_servers"] = [self.address]
        return options

    # -- fetch -----------------------------------------------------------------------------
    def fetched(self) -> bool:
        return (self.lib / ".complete").exists()

    def fetch(self) -> bool:
        """Copy Kafka's jars into ``lib``; False when they were already there."""
        if self.fetched():
            return False
        tmp = self.lib.with_name("lib.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        maven.mvn(
            "dependency:copy-dependencies",
            f"-Dkafka.version={self.version}",
            f"-DoutputDirectory={tmp}",
            what=f"Kafka {self.version}",
        )
        if not any(tmp.glob("kafka_2.13-*.jar")):
            raise StackError(f"cannot fetch Kafka {self.version}: no kafka_2.13 jar after mvn")
        (tmp / ".complete").write_text(self.version + "\n")
        shutil.rmtree(self.lib, ignore_errors=True)
        tmp.rename(self.lib)
        return True

    def classpath(self) -> str:
        return f"{self.lib}/*"

    def java(self) -> Path:
        home = java.find_java_home(
            MIN_JAVA, purpose="Kafka", explicit=self.settings.stack.java_home, env_vars=["JAVA_HOME"]
        )
        return home / "bin" / "java"

    # -- configure -------------------------------------------------------------------------
    @property
    def sasl(self) -> bool:
        return self.settings.kafka.security_protocol == "SASL_PLAINTEXT"

    def super_user(self) -> tuple[str, str]:
        """The SCRAM user the broker itself logs in as (and a super user): kafka.sasl_*."""
        k = self.settings.kafka
        if k.sasl_mechanism not in SCRAM_MECHANISMS or not k.sasl_username or k.sasl_password is None:
            raise StackError(
                "kafka: a local SASL_PLAINTEXT broker needs kafka.sasl_mechanism SCRAM-SHA-256 or "
                "SCRAM-SHA-512 and kafka.sasl_username / VIGIL_KAFKA_SASL_PASSWORD"
            )
        return k.sasl_username, k.sasl_password.get_secret_value()

    def listener_properties(self) -> dict[str, str]:
        k = self.settings.kafka
        controller = f"CONTROLLER://{self.host}:{self.controller_port()}"
        if not self.sasl:
            return {
                "listeners": f"PLAINTEXT://{self.host}:{self.port},{controller}",
                "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            }
        user, password = self.super_user()
        mechanism = k.sasl_mechanism or ""
        jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{password}";'
        return {
            "listeners": f"SASL_PLAINTEXT://{self.host}:{self.port},{controller}",
            "advertised.listeners": f"SASL_PLAINTEXT://{self.host}:{self.port}",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            # KRaft cannot check SCRAM on the controller listener (the credentials live in the
            # metadata it serves): it stays PLAINTEXT on loopback; see docs/security.md for clusters.
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": mechanism,
            "sasl.mechanism.inter.broker.protocol": mechanism,
            f"listener.name.sasl_plaintext.{mechanism.lower()}.sasl.jaas.config": jaas,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            # ANONYMOUS is the broker talking to its own controller over the loopback listener.
            "super.users": f"User:{user};User:ANONYMOUS",
        }

    def properties(self) -> dict[str, str]:
        k = self.settings.kafka
        message_max = k.max_message_bytes + 1024 * 1024
        replicas = min(3, self.nodes)
        min_isr = str(max(1, replicas - 1))
        if self.nodes == 1:
            quorum = {"controller.quorum.bootstrap.servers": f"{self.host}:{self.controller_port()}"}
        else:
            voters = (f"{n}@{self.host}:{self.controller_port(n)}" for n in range(1, self.nodes + 1))
            quorum = {"controller.quorum.voters": ",".join(voters)}
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node),
            **quorum,
            "controller.listener.names": "CONTROLLER",
            **self.listener_properties(),
            "log.dirs": str(self.data_dir),
            "num.partitions": str(k.partitions),
            "default.replication.factor": str(replicas),
            "offsets.topic.replication.factor": str(replicas),
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": str(replicas),
            "share.coordinator.state.topic.min.isr": min_isr,
            # acks=all then needs two live replicas: one broker may die without losing a record.
            "min.insync.replicas": min_isr,
            "group.initial.rebalance.delay.ms": "0",
            # Topics come from `vigil init` (partitions, retention, max.message.bytes); a typo'd
            # topic name must fail instead of silently creating a 1-partition topic.
            "auto.create.topics.enable": "false",
            "delete.topic.enable": "true",
            "message.max.bytes": str(message_max),
            "replica.fetch.max.bytes": str(message_max),
            "socket.request.max.bytes": str(max(104857600, 2 * message_max)),
            "log.retention.hours": "168",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }

    def write_config(self) -> Path:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        server = self.config_dir / "server.properties"
        server.touch(mode=0o600)  # may hold the broker's SASL password
        server.chmod(0o600)
        server.write_text(
            "# written by `vigil stack up`; edits are overwritten\n"
            + "".join(f"{key}={value}\n" for key, value in self.properties().items())
        )
        (self.config_dir / "log4j2.properties").write_text(LOG4J2)
        return server

    def formatted(self) -> bool:
        return (self.data_dir / "meta.properties").exists()

    def cluster_id(self) -> str:
        """A new id for one node; the nodes of a cluster share one, kept beside their folders."""
        fresh = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if self.nodes == 1:
            return fresh
        path = self.root / "cluster" / "cluster.id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fresh + "\n")
        return path.read_text().strip()

    def format_storage(self, server: Path, cluster_id: str | None = None) -> None:
        """Format the KRaft log directory. The id is base64url, so it may begin with ``-``: it is
        passed as ``--cluster-id=ID``, which the argument parser cannot read as another option."""
        cluster_id = cluster_id or self.cluster_id()
        # One node bootstraps its own quorum; a cluster's voters are static (controller.quorum.voters).
        quorum = ["--standalone"] if self.nodes == 1 else []
        cmd = [
            str(self.java()),
            *self.jvm_options(),
            "-cp",
            self.classpath(),
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_id}",  # a base64url id may begin with "-"
            *quorum,
            "--ignore-formatted",
            "--config",
            str(server),
            *self.scram_arguments(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        with open(self.log, "a") as out:
            out.write(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise StackError(
                f"kafka: formatting storage in {self.data_dir} failed (exit {proc.returncode}): "
                + (proc.stderr.strip().splitlines() or ["see " + str(self.log)])[-1]
            )

    def scram_arguments(self) -> list[str]:
        """``--add-scram`` for the super user and the extra users (SASL brokers only)."""
        if not self.sasl:
            return []
        user, password = self.super_user()
        mechanism = self.settings.kafka.sasl_mechanism
        users = {user: password, **self.scram_users}
        for name, secret in users.items():
            if not name.replace("-", "").replace("_", "").isalnum() or any(c in secret for c in ',]"='):
                raise StackError(f"kafka: SCRAM user {name!r}: use letters, digits, - and _; no ,]\"= in passwords")
        return [f"--add-scram={mechanism}=[name={name},password={secret}]" for name, secret in users.items()]

    def jvm_options(self) -> list[str]:
        return [
            "-Xms256m",
            "-Xmx1g" if self.nodes == 1 else f"-Xmx{self.settings.stack.cluster_kafka_heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.config_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={paths.logs_dir(self.settings)}",
        ]

    # -- run -------------------------------------------------------------------------------
    def pid(self) -> int | None:
        return processes.read_pid(self.pid_path, expect=str(self.config_dir))

    def start(self) -> int:
        if not self.fetched():
            raise StackError(f"kafka {self.version} is not fetched: run `vigil stack fetch`")
        for port in (self.port, self.controller_port()):
            if processes.port_open(self.host, port):
                raise StackError(
                    f"{self.name}: port {self.host}:{port} is already in use by another process "
                    "(not a healthy Kafka); free it or change kafka.bootstrap / kafka.controller_port"
                )
        server = self.write_config()
        if not self.formatted():
            self.format_storage(server)
        cmd = [
            str(self.java()),
            *self.jvm_options(),
            "-cp",
            self.classpath(),
            "kafka.Kafka",
            str(server),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "CLASSPATH"))}
        proc = processes.start(cmd, log=self.log, pid_path=self.pid_path, env=env, cwd=self.root)
        return proc.pid

    def wait_ready(self, timeout: float) -> None:
        pid = self.pid()
        processes.wait_until(
            lambda: self.healthy() and self.coordinator_ready(),
            service=self.name,
            timeout=timeout,
            log=self.log,
            alive=(lambda: processes.pid_alive(pid)) if pid else None,
        )

    def stop(self) -> bool:
        pid = self.pid()
        ok = processes.stop(pid, timeout=60) if pid else True
        if ok:
            self.pid_path.unlink(missing_ok=True)
        return ok

    # -- health ----------------------------------------------------------------------------
    def healthy(self) -> bool:
        """A broker answers metadata requests (kafka-python, with the configured security)."""
        if not self.external and not processes.port_open(self.host, self.port):
            return False
        from kafka.admin import KafkaAdminClient

        for name in ("kafka", "kafka.conn", "kafka.client", "kafka.admin"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            client = KafkaAdminClient(**self.client_options(), request_timeout_ms=5000)
        except Exception:  # noqa: BLE001
            return False
        try:
            cluster = client.describe_cluster()
            return bool(cluster.get("brokers"))
        except Exception:  # noqa: BLE001
            return False
        finally:
            client.close()

    def coordinator_ready(self) -> bool:
        """A group coordinator answers: consumer groups work only once ``__consumer_offsets`` exists.

        A fresh broker creates that topic on the first coordinator lookup and answers
        COORDINATOR_NOT_AVAILABLE until it is ready; readiness covers that window so that the first
        worker or ``vigil demo`` right after ``vigil stack up`` does not fail on it.
        """
        from kafka.admin import KafkaAdminClient

        try:
            client = KafkaAdminClient(**self.client_options(), request_timeout_ms=5000)
        except Exception:  # noqa: BLE001 - not ready yet; wait_until names the service on timeout
            return False
        try:
            client.describe_groups(["vigil-readiness"])
            return True
        except Exception:  # noqa: BLE001
            return False
        finally:
            client.close()

    def status(self) -> dict:
        pid = None if self.external else self.pid()
        return {
            "version": None if self.external else self.version,
            "address": self.address,
            "healthy": self.healthy(),
            "pid": "external" if self.external else pid,
            "external": self.external,
            "log": None if self.external else str(self.log),
        }


LOG4J2 = """\
# written by `vigil stack up`: the broker logs to stdout, which goes to <state>/logs/kafka.log
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRefs = out
rootLogger.appenderRef.out.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
"""
