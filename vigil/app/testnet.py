"""A private Tor network on 127.0.0.1 for tests and demos (``vigil tor testnet``).

Three directory authorities (keys from ``tor-gencert``), two relays of which one is an exit,
one tor hosting an onion service per target, and one client whose SOCKS and control ports
Vigil's crawls use. Every node is a detached ``tor`` with ``TestingTorNetwork 1`` and a PID file
under ``<state>/testnet/``, so the network outlives the command that started it and ``down``
stops exactly what ``up`` started. Never connected to the public Tor network.

Speed: short voting intervals on the authorities (first consensus after ~5 s) and
``VanguardsLiteEnabled 0`` on the onion service and the client (with vanguards-lite a network
this small can stall for minutes choosing layer-2 nodes).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vigil.app.stack import processes
from vigil.core.tor import socks

AUTHORITIES = 3
ONION_VIRTUAL_PORT = 80

_COMMON = """\
TestingTorNetwork 1
AssumeReachable 1
PathsNeededToBuildCircuits 0.67
TestingDirAuthVoteExit *
TestingDirAuthVoteHSDir *
TestingDirAuthVoteGuard *
TestingMinExitFlagThreshold 0
V3AuthNIntervalsValid 2
DataDirectory {datadir}
RunAsDaemon 0
ConnLimit 60
ShutdownWaitLength 0
Nickname {nick}
Log notice file {datadir}/notice.log
ProtocolWarnings 1
SafeLogging 0
DisableDebuggerAttachment 0
ClientUseIPv6 0
"""

_AUTHORITY = """\
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
ContactInfo {nick}@vigil.test
TestingV3AuthInitialVotingInterval 5
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
"""

_RELAY = """\
Address 127.0.0.1
ORPort 127.0.0.1:{or_port}
DirPort 127.0.0.1:{dir_port}
SocksPort 0
ControlPort 0
"""

_EXIT = """\
ExitRelay 1
ExitPolicyRejectPrivate 0
ExitPolicy accept 127.0.0.0/8:*
ExitPolicy reject *:*
IPv6Exit 0
ServerDNSDetectHijacking 0
"""

_NON_EXIT = "ExitRelay 0\nExitPolicy reject *:*\n"

_CLIENT = """\
SocksPort 127.0.0.1:{socks_port} ExtendedErrors
ControlPort 127.0.0.1:{control_port}
CookieAuthentication 1
VanguardsLiteEnabled 0
"""

_ONION = """\
SocksPort 0
ControlPort 127.0.0.1:{control_port}
CookieAuthentication 1
VanguardsLiteEnabled 0
"""


class TestnetError(Exception):
    """The private network could not be started or is not running; the message says which node."""


@dataclass
class Node:
    nick: str
    role: str  # authority | relay | exit | onion | client
    datadir: str
    or_port: int = 0
    dir_port: int = 0
    control_port: int = 0
    socks_port: int = 0
    fingerprint: str = ""
    v3ident: str = ""


@dataclass
class NetworkState:
    """What ``up`` started; saved as ``network.json`` and read back by ``status``/``down``."""

    root: str
    nodes: list[Node] = field(default_factory=list)
    onions: dict[str, str] = field(default_factory=dict)  # "host:port" target -> "<addr>.onion"
    started_at: float = 0.0
    ready_seconds: float | None = None

    @property
    def client(self) -> Node:
        return next(n for n in self.nodes if n.role == "client")

    @property
    def cookie_path(self) -> Path:
        return Path(self.client.datadir) / "control_auth_cookie"

    def env(self) -> dict[str, str]:
        """The VIGIL_* variables that point Vigil's crawls and tor commands at the testnet client."""
        client = self.client
        return {
            "VIGIL_TOR_SOCKS_HOST": "127.0.0.1",
            "VIGIL_TOR_SOCKS_PORT": str(client.socks_port),
            "VIGIL_TOR_CONTROL_HOST": "127.0.0.1",
            "VIGIL_TOR_CONTROL_PORT": str(client.control_port),
            "VIGIL_TOR_COOKIE_PATH": str(self.cookie_path),
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> NetworkState:
        data = json.loads(text)
        data["nodes"] = [Node(**n) for n in data["nodes"]]
        return cls(**data)


def _free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


def parse_target(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TestnetError(f"--onion-for expects HOST:PORT, got {value!r}")
    return host, int(port)


class TestNetwork:
    """The private network rooted at ``root`` (normally ``settings.state_dir / "testnet"``)."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: Path, tor: str = "tor", gencert: str = "tor-gencert"):
        self.root = Path(root)
        self.tor = shutil.which(tor) or tor
        self.gencert = shutil.which(gencert) or gencert

    @property
    def state_file(self) -> Path:
        return self.root / "network.json"

    def pid_file(self, nick: str) -> Path:
        return self.root / f"{nick}.pid"

    def load(self) -> NetworkState | None:
        try:
            return NetworkState.from_json(self.state_file.read_text())
        except FileNotFoundError:
            return None

    def running(self) -> dict[str, int | None]:
        """nick -> live PID (None when that node is not running)."""
        state = self.load()
        if state is None:
            return {}
        return {n.nick: processes.read_pid(self.pid_file(n.nick)) for n in state.nodes}

    def status(self) -> dict:
        state = self.load()
        pids = self.running()
        up = bool(pids) and all(pids.values())
        result: dict = {"running": up, "root": str(self.root), "nodes": pids}
        if state is not None:
            result.update(
                onions=state.onions,
                socks=f"127.0.0.1:{state.client.socks_port}",
                control=f"127.0.0.1:{state.client.control_port}",
                cookie_path=str(state.cookie_path),
                ready_seconds=state.ready_seconds,
            )
        return result

    def up(
        self,
        targets: list[str],
        *,
        timeout: float = 120.0,
        progress: Callable[[str], None] = lambda _: None,
    ) -> NetworkState:
        """Start the network (or reuse a running one serving every target) and wait for the onions."""
        wanted = [f"{h}:{p}" for h, p in map(parse_target, targets)]
        state = self.load()
        pids = self.running()
        if state is not None and pids and all(pids.values()):
            missing = [t for t in wanted if t not in state.onions]
            if not missing:
                progress("testnet already running")
                return state
            raise TestnetError(
                f"the testnet is running without onions for {', '.join(missing)}; "
                "run `vigil tor testnet down` first"
            )
        if any(pids.values()):
            self.down()
        for tool in (self.tor, self.gencert):
            if not shutil.which(tool):
                raise TestnetError(f"{tool} not found: install Debian's tor package (apt-get install tor)")
        started = time.monotonic()
        state = self._prepare(wanted)
        progress(f"keys generated in {time.monotonic() - started:.1f}s; starting {len(state.nodes)} tor processes")
        state.started_at = time.time()
        self.state_file.write_text(state.to_json())
        try:
            for node in state.nodes:
                processes.start(
                    [self.tor, "-f", str(Path(node.datadir) / "torrc")],
                    log=Path(node.datadir) / "stdout.log",
                    pid_path=self.pid_file(node.nick),
                )
            self._read_onion_hostnames(state, wanted, deadline=time.monotonic() + 30)
            self.state_file.write_text(state.to_json())
            for target, onion in state.onions.items():
                progress(f"onion {onion} -> {target}")
            self._wait_onions(state, deadline=started + timeout, progress=progress)
        except BaseException:
            self.down()
            raise
        state.ready_seconds = round(time.monotonic() - started, 1)
        self.state_file.write_text(state.to_json())
        progress(f"onions answer after {state.ready_seconds}s")
        return state

    def down(self) -> list[str]:
        """Stop every node ``up`` started (by PID file); returns the nicks that were running."""
        state = self.load()
        stopped = []
        nicks = [n.nick for n in state.nodes] if state else [p.stem for p in self.root.glob("*.pid")]
        for nick in nicks:
            pid = processes.read_pid(self.pid_file(nick))
            if pid is not None:
                processes.stop(pid, timeout=10)
                stopped.append(nick)
            self.pid_file(nick).unlink(missing_ok=True)
        return stopped

    def _prepare(self, targets: list[str]) -> NetworkState:
        nodes_dir = self.root / "nodes"
        shutil.rmtree(nodes_dir, ignore_errors=True)
        nodes_dir.mkdir(parents=True)
        roles = ["authority"] * AUTHORITIES + ["relay", "exit", "onion", "client"]
        ports = iter(_free_ports(4 * len(roles)))
        nodes = []
        for index, role in enumerate(roles):
            nick = f"{role}{index}"
            datadir = nodes_dir / nick
            datadir.mkdir(mode=0o700)
            node = Node(nick=nick, role=role, datadir=str(datadir))
            if role in ("authority", "relay", "exit"):
                node.or_port, node.dir_port = next(ports), next(ports)
            if role in ("onion", "client"):
                node.control_port = next(ports)
            if role == "client":
                node.socks_port = next(ports)
            nodes.append(node)
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            list(pool.map(self._make_keys, [n for n in nodes if n.or_port]))
        authorities = "".join(
            f"DirAuthority {n.nick} orport={n.or_port} no-v2 v3ident={n.v3ident} "
            f"127.0.0.1:{n.dir_port} {n.fingerprint}\n"
            for n in nodes
            if n.role == "authority"
        )
        for node in nodes:
            (Path(node.datadir) / "torrc").write_text(self._torrc(node, authorities, targets))
        return NetworkState(root=str(self.root), nodes=nodes)

    def _make_keys(self, node: Node) -> None:
        """Keys of a relay (and authority); kept under ``keys/`` so the next ``up`` skips the RSA work.

        The certificates carry no address, so cached keys stay valid when the ports change.
        """
        datadir = Path(node.datadir)
        keys = datadir / "keys"
        cache = self.root / "keys" / node.nick
        if (cache / "secret_id_key").exists():
            shutil.copytree(cache, keys)
        else:
            keys.mkdir(mode=0o700)
        if node.role == "authority" and not (keys / "authority_certificate").exists():
            self._run(
                [
                    self.gencert, "--create-identity-key", "--passphrase-fd", "0", "-m", "12",
                    "-i", str(keys / "authority_identity_key"),
                    "-s", str(keys / "authority_signing_key"),
                    "-c", str(keys / "authority_certificate"),
                ],
                stdin=b"\n",
            )
        if node.role == "authority":
            for line in (keys / "authority_certificate").read_text().splitlines():
                if line.startswith("fingerprint "):
                    node.v3ident = line.split()[1]
        out = self._run(
            [self.tor, "--list-fingerprint", "--DataDirectory", str(datadir),
             "--ORPort", str(node.or_port), "--Nickname", node.nick],
        )
        for line in out.splitlines():
            if line.startswith(node.nick + " "):
                node.fingerprint = line[len(node.nick) + 1 :].replace(" ", "")
        if not node.fingerprint or (node.role == "authority" and not node.v3ident):
            raise TestnetError(f"could not read the keys of {node.nick} in {datadir}")
        if not cache.exists():
            shutil.copytree(keys, cache)

    @staticmethod
    def _run(cmd: list[str], stdin: bytes | None = None) -> str:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).decode(errors="replace").strip()[-500:]
            raise TestnetError(f"{Path(cmd[0]).name} failed: {detail}")
        return proc.stdout.decode(errors="replace")

    def _torrc(self, node: Node, authorities: str, targets: list[str]) -> str:
        text = _COMMON.format(datadir=node.datadir, nick=node.nick) + authorities
        if node.role in ("authority", "relay", "exit"):
            text += _RELAY.format(or_port=node.or_port, dir_port=node.dir_port)
            text += _EXIT if node.role == "exit" else _NON_EXIT
        if node.role == "authority":
            text += _AUTHORITY.format(nick=node.nick)
        if node.role == "client":
            text += _CLIENT.format(socks_port=node.socks_port, control_port=node.control_port)
        if node.role == "onion":
            text += _ONION.format(control_port=node.control_port)
            for index, target in enumerate(targets):
                text += f"HiddenServiceDir {node.datadir}/hs{index}\n"
                text += f"HiddenServicePort {ONION_VIRTUAL_PORT} {target}\n"
        return text

    def _read_onion_hostnames(self, state: NetworkState, targets: list[str], deadline: float) -> None:
        onion = next(n for n in state.nodes if n.role == "onion")
        for index, target in enumerate(targets):
            hostname = Path(onion.datadir) / f"hs{index}" / "hostname"
            while not hostname.exists():
                self._check_alive(state)
                if time.monotonic() > deadline:
                    raise TestnetError(f"the onion service for {target} wrote no hostname; see {onion.datadir}")
                time.sleep(0.1)
            state.onions[target] = hostname.read_text().strip()

    def _check_alive(self, state: NetworkState) -> None:
        for node in state.nodes:
            if processes.read_pid(self.pid_file(node.nick)) is None:
                log = Path(node.datadir) / "stdout.log"
                raise TestnetError(f"tor node {node.nick} exited; last lines of {log}:\n{processes.tail(log, 10)}")

    def _wait_onions(self, state: NetworkState, deadline: float, progress: Callable[[str], None]) -> None:
        client = state.client
        pending = dict(state.onions)
        last_error = ""
        while pending:
            self._check_alive(state)
            for target, onion in list(pending.items()):
                try:
                    reply = socks.http_get("127.0.0.1", client.socks_port, onion, ONION_VIRTUAL_PORT, timeout=10)
                except OSError as exc:
                    last_error = str(exc)
                    continue
                if reply.startswith(b"HTTP/"):
                    progress(f"{onion} answered")
                    del pending[target]
            if pending:
                if time.monotonic() > deadline:
                    raise TestnetError(
                        f"onion service(s) {', '.join(pending.values())} not reachable in time "
                        f"(last error: {last_error or 'none'}); logs under {self.root / 'nodes'}"
                    )
                time.sleep(0.5)
