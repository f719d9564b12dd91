"""Talking to tor daemons through their control ports with stem: attach, launch, health, NEWNYM.

Attach authenticates with the instance's cookie file when ``cookie_path`` is set, else with its
password (``control_password``; ``VIGIL_TOR_CONTROL_PASSWORD`` for instances without one), else
whatever tor offers (stem picks NULL or the cookie named by PROTOCOLINFO).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import stem
import stem.connection
import stem.process
from stem import Signal
from stem.control import Controller

from vigil.core import metrics
from vigil.core.config import TorInstance
from vigil.core.tor import socks

_BOOTSTRAP = re.compile(r'PROGRESS=(\d+)(?:.*?SUMMARY="([^"]*)")?')


class TorControlError(Exception):
    """A tor instance could not be reached or authenticated; the message names it."""


def instance_name(instance: TorInstance) -> str:
    """How metrics and messages name an instance: its SOCKS address."""
    return f"{instance.socks_host}:{instance.socks_port}"


def _password(instance: TorInstance) -> str | None:
    if instance.control_password is not None:
        return instance.control_password.get_secret_value()
    return os.environ.get("VIGIL_TOR_CONTROL_PASSWORD") or None


def attach(instance: TorInstance) -> Controller:
    """An authenticated stem Controller for an already running tor (caller closes it)."""
    where = f"{instance.control_host}:{instance.control_port}"
    try:
        controller = Controller.from_port(address=instance.control_host, port=instance.control_port)
    except stem.SocketError as exc:
        raise TorControlError(f"tor control port {where} not reachable: {exc}") from None
    try:
        if instance.cookie_path is not None:
            stem.connection.authenticate_cookie(controller, str(instance.cookie_path))
        else:
            controller.authenticate(password=_password(instance))
    except (stem.connection.AuthenticationFailure, OSError) as exc:
        controller.close()
        raise TorControlError(
            f"cannot authenticate to tor control port {where}: {exc} "
            "(set tor.cookie_path or VIGIL_TOR_CONTROL_PASSWORD)"
        ) from None
    return controller


def bootstrap_progress(controller: Controller) -> tuple[int, str]:
    """(percent, summary) from ``GETINFO status/bootstrap-phase``."""
    phase = controller.get_info("status/bootstrap-phase", "")
    match = _BOOTSTRAP.search(phase)
    if not match:
        return 0, phase
    return int(match.group(1)), match.group(2) or ""


def launch(
    config: dict[str, str | list[str]],
    *,
    tor_cmd: str = "tor",
    timeout: float | None = 120.0,
    completion_percent: int = 100,
    progress: Callable[[str], None] | None = None,
):
    """Start a managed tor with stem and wait for ``completion_percent`` bootstrap.

    Use ``completion_percent=0`` with ``DisableNetwork 1`` (tor never gets past 0 % then).
    Returns the ``subprocess.Popen``; the caller owns (and must stop) the process.
    """
    try:
        return stem.process.launch_tor_with_config(
            config=config,
            tor_cmd=tor_cmd,
            completion_percent=completion_percent,
            init_msg_handler=progress,
            timeout=timeout,
            take_ownership=False,
        )
    except OSError as exc:
        raise TorControlError(f"tor did not start: {exc}") from None


@dataclass
class InstanceHealth:
    name: str
    socks: str
    control: str
    socks_reachable: bool
    control_reachable: bool = False
    version: str = ""
    bootstrap: int = 0
    bootstrap_summary: str = ""
    circuits_built: int = 0
    error: str = ""

    @property
    def healthy(self) -> bool:
        return self.socks_reachable and self.control_reachable and self.bootstrap >= 100

    def as_dict(self) -> dict:
        return {**asdict(self), "healthy": self.healthy}


def health(instance: TorInstance) -> InstanceHealth:
    """One instance's state; also sets the TOR_BOOTSTRAP and TOR_CIRCUITS gauges."""
    name = instance_name(instance)
    result = InstanceHealth(
        name=name,
        socks=name,
        control=f"{instance.control_host}:{instance.control_port}",
        socks_reachable=socks.probe(instance.socks_host, instance.socks_port),
    )
    try:
        with attach(instance) as controller:
            result.control_reachable = True
            result.version = str(controller.get_version()).split(" ")[0]
            result.bootstrap, result.bootstrap_summary = bootstrap_progress(controller)
            result.circuits_built = sum(1 for c in controller.get_circuits([]) if c.status == "BUILT")
    except (TorControlError, stem.ControllerError) as exc:
        result.error = str(exc)
    metrics.TOR_BOOTSTRAP.labels(instance=name).set(result.bootstrap)
    metrics.TOR_CIRCUITS.labels(instance=name).set(result.circuits_built)
    return result


def send_newnym(controller: Controller, *, profile: str = "", wait: bool = True) -> float:
    """Signal NEWNYM, first waiting out tor's rate limit; returns the seconds waited.

    New streams then get new circuits. tor itself delays a NEWNYM sent too early, so waiting here
    keeps the caller's view (retry after the signal) true rather than racing the delay.
    """
    waited = 0.0
    if wait and not controller.is_newnym_available():
        waited = controller.get_newnym_wait()
        time.sleep(waited)
    controller.signal(Signal.NEWNYM)
    metrics.TOR_NEWNYM.labels(profile=profile or "-").inc()
    return waited


class ControllerCache:
    """One long-lived, thread-safe controller per instance, so stem's NEWNYM rate tracking holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._controllers: dict[tuple[str, int], Controller] = {}
        self.newnyms = 0

    def get(self, instance: TorInstance) -> Controller:
        key = (instance.control_host, instance.control_port)
        controller = self._controllers.get(key)
        if controller is None or not controller.is_alive():
            controller = attach(instance)
            self._controllers[key] = controller
        return controller

    def newnym(self, instance: TorInstance, *, profile: str = "") -> float:
        with self._lock:
            waited = send_newnym(self.get(instance), profile=profile)
            self.newnyms += 1
            return waited

    def close(self) -> None:
        with self._lock:
            for controller in self._controllers.values():
                controller.close()
            self._controllers.clear()
