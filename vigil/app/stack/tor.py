"""The stack's tor daemon (``vigil stack up --with tor``): Debian's tor, detached, driven by stem.

tor is started as ``tor -f <state>/tor/torrc`` in its own session (so it outlives the CLI; stem's
``launch_tor_with_config`` keeps tor's stdout pipe and is used for short-lived test instances only).
Readiness is "the control port authenticates and the SOCKS port accepts connections": the
network stays enabled for real use, but bootstrap may never reach 100 % on a machine without
internet, so it is reported in ``status`` and never waited for. (With ``DisableNetwork 1`` tor does
not open its SOCKS port at all.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vigil.app.stack import paths, processes
from vigil.app.stack.errors import StackError
from vigil.core.config import Settings

NAME = "tor"


class Tor:
    name = NAME

    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = settings.state_dir / "tor"
        self.data_dir = self.root / "data"
        self.torrc = self.root / "torrc"
        self.log = paths.log_file(settings, NAME)
        self.pid_path = paths.pid_file(settings, NAME)

    external = False

    @property
    def cfg(self):
        return self.settings.tor

    @property
    def address(self) -> str:
        return f"socks5://{self.cfg.socks_host}:{self.cfg.socks_port}"

    def binary(self) -> str:
        tor = shutil.which("tor") or ("/usr/bin/tor" if Path("/usr/bin/tor").exists() else None)
        if not tor:
            raise StackError("tor is not installed (apt-get install tor)")
        return tor

    def write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        lines = [
            "# written by `vigil stack up --with tor`; edits are overwritten",
            f"SocksPort {self.cfg.socks_host}:{self.cfg.socks_port}",
            f"ControlPort {self.cfg.control_host}:{self.cfg.control_port}",
            "CookieAuthentication 1",
            f"CookieAuthFile {self.data_dir / 'control_auth_cookie'}",
            f"DataDirectory {self.data_dir}",
            "Log notice stdout",
            "RunAsDaemon 0",
            "AvoidDiskWrites 1",
        ]
        self.torrc.write_text("\n".join(lines) + "\n")

    def pid(self) -> int | None:
        return processes.read_pid(self.pid_path, expect=str(self.torrc))

    def start(self) -> int:
        tor = self.binary()
        for port in (self.cfg.socks_port, self.cfg.control_port):
            if processes.port_open("127.0.0.1", port):
                raise StackError(
                    f"tor: port 127.0.0.1:{port} is already in use by another process (not this stack's "
                    "tor); free it or change tor.socks_port / tor.control_port"
                )
        self.write_config()
        proc = processes.start(
            [tor, "-f", str(self.torrc), "--defaults-torrc", "/dev/null"],
            log=self.log,
            pid_path=self.pid_path,
            cwd=self.root,
        )
        return proc.pid

    def wait_ready(self, timeout: float) -> None:
        pid = self.pid()
        processes.wait_until(
            self.healthy,
            service="tor",
            timeout=min(timeout, 60),
            log=self.log,
            alive=(lambda: processes.pid_alive(pid)) if pid else None,
        )

    def stop(self) -> bool:
        pid = self.pid()
        ok = processes.stop(pid, timeout=30) if pid else True
        if ok:
            self.pid_path.unlink(missing_ok=True)
        return ok

    def control_info(self) -> dict | None:
        """Version and bootstrap phase over the control port, or None when it does not answer."""
        from stem.control import Controller

        try:
            with Controller.from_port(address=self.cfg.control_host, port=self.cfg.control_port) as ctl:
                if self.cfg.control_password:
                    ctl.authenticate(password=self.cfg.control_password.get_secret_value())
                else:
                    ctl.authenticate()
                phase = ctl.get_info("status/bootstrap-phase", "")
                return {"version": str(ctl.get_version()).split()[0], "bootstrap": _progress(phase)}
        except Exception:  # noqa: BLE001
            return None

    def healthy(self) -> bool:
        return (
            processes.port_open(self.cfg.socks_host, self.cfg.socks_port) and self.control_info() is not None
        )

    def status(self) -> dict:
        info = self.control_info()
        healthy = info is not None and processes.port_open(self.cfg.socks_host, self.cfg.socks_port)
        return {
            "version": info["version"] if info else None,
            "address": self.address,
            "control": f"{self.cfg.control_host}:{self.cfg.control_port}",
            "healthy": healthy,
            "bootstrap": info["bootstrap"] if info else None,
            "pid": self.pid(),
            "external": False,
            "log": str(self.log),
        }


def _progress(phase: str) -> int | None:
    for part in phase.split():
        if part.startswith("PROGRESS="):
            try:
                return int(part.split("=", 1)[1])
            except ValueError:
                return None
    return None
