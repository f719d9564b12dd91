"""The shape of one entry in the audit trail (``es.indices.audit``), shared by the analysts'
commands (``vigil.app.audit``) and the workers that record what they did to evidence."""

from __future__ import annotations

import getpass
import socket
from typing import Any

from vigil.core.records import utcnow


def entry(action: str, who: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The audit document for ``action`` by ``who``, with the OS account and host it ran from."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    given = {k: v for k, v in parameters.items() if v not in (None, [], (), "")}
    return {
        "at": utcnow().isoformat(),
        "action": action,
        "who": who,
        "os_user": os_user,
        "host": socket.gethostname(),
        "parameters": given,
        "summary": f"{action} " + " ".join(f"{k}={v}" for k, v in given.items())[:1000],
    }
