"""Elasticsearch security for the local stack: no request without credentials, three roles.

On the first ``vigil stack up`` with ``stack.es_security`` (the default) a random password for the
built-in ``elastic`` user goes into ES's keystore as ``bootstrap.password``, Vigil's roles into
``roles.yml`` and its users (random passwords) into the file realm, all before ES starts; once ES
answers, the trial licence is started (document-level security needs it). The passwords are kept
in ``<home>/elasticsearch-credentials.json`` (mode 0600). API keys are not available on the
local stack: they live in the ``.security`` index, which the integ-test build cannot create. Every ``vigil`` command reads the file
when no ``VIGIL_ES_*`` credential is set (vigil/core/config.py); ``vigil stack env`` prints them as
export lines for scripts.

Roles (index patterns cover the configured aliases and the tests' ``test-*`` ones):

* ``vigil_writer`` (user ``vigil-writer``): the workers, read and write.
* ``vigil_analyst`` (user ``vigil-analyst``): reads ads, ad versions, entities, alerts and jobs, but never
  an ad escalated for review (minors) nor its versions or alerts: document-level security, which needs the
  trial licence Vigil starts (``POST /_license/start_trial``); writes only the audit trail.
* ``vigil_admin`` (user ``vigil-admin``): everything on Vigil's indices, templates and security.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from vigil.app.stack import accounts
from vigil.app.stack.errors import StackError
from vigil.core.config import CREDENTIALS_FILE, Settings

PATTERNS = ["vigil-*", "test-*"]
NOT_ESCALATED_ADS = {"bool": {"must_not": [{"term": {"escalate": True}}, {"term": {"escalated": True}}]}}
ROLES = {
    "vigil_writer": {
        "cluster": ["monitor", "manage_index_templates"],
        "indices": [
            {
                "names": PATTERNS,
                "privileges": ["read", "write", "create_index", "view_index_metadata", "maintenance", "manage"],
            }
        ],
    },
    "vigil_analyst": {
        "cluster": ["monitor"],
        "indices": [
            {
                "names": [p.replace("*", f"*{name}*") for name in ("ads", "alerts", "ad-versions") for p in PATTERNS],
                "privileges": ["read", "view_index_metadata"],
                "query": json.dumps(NOT_ESCALATED_ADS),
            },
            {
                "names": [p.replace("*", "*entities*") for p in PATTERNS] + [p.replace("*", "*jobs*") for p in PATTERNS],
                "privileges": ["read", "view_index_metadata"],
            },
            {"names": [p.replace("*", "*audit*") for p in PATTERNS], "privileges": ["create_doc"]},
        ],
    },
    "vigil_admin": {
        "cluster": ["all"],
        "indices": [{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": False}],
    },
}
USERS = {"vigil-admin": "vigil_admin", "vigil-writer": "vigil_writer", "vigil-analyst": "vigil_analyst"}


def credentials_path(settings: Settings) -> Path:
    return settings.state_dir / CREDENTIALS_FILE


def load(settings: Settings) -> dict:
    try:
        return json.loads(credentials_path(settings).read_text())
    except (OSError, ValueError):
        return {}


def save(settings: Settings, data: dict) -> None:
    """Write the credentials file 0600 (atomically: never readable by others, not even briefly)."""
    path = credentials_path(settings)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.replace(temporary, path)


def keystore_bootstrap(home: Path, env: dict[str, str], settings: Settings, account: pwd.struct_passwd | None = None) -> None:
    """Before ES's first secured start: the ``elastic`` password into its keystore (once).

    The tool runs as ES's own account: it refuses to rewrite a keystore another user owns.
    """
    data = load(settings)
    if data.get("elastic"):
        return
    password = secrets.token_urlsafe(24)
    tool = str(home / "bin" / "elasticsearch-keystore")
    keystore = Path(env["ES_PATH_CONF"]) / "elasticsearch.keystore"
    if not keystore.exists():
        _run(accounts.setpriv(account, [tool, "create"]), env)
    _run(accounts.setpriv(account, [tool, "add", "-x", "-f", "bootstrap.password"]), env, stdin=password)
    save(settings, {**data, "elastic": password})


def _run(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    proc = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise StackError(f"elasticsearch-keystore failed: {(proc.stderr or proc.stdout).strip()[-500:]}")


def request(url: str, method: str = "GET", body: dict | None = None, auth: tuple[str, str] | None = None):
    """(status, JSON answer) of one request; status 0 when nothing answered."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except (OSError, ValueError):
        return 0, {}


def file_realm(home: Path, env: dict[str, str], settings: Settings) -> None:
    """Before ES starts: Vigil's roles in ``roles.yml`` and its users in the file realm.

    The integ-test build cannot create the ``.security`` index (its mapping needs
    analysis-common), so native users, roles and API keys are unavailable: users and roles live
    in ES's config files instead, which it reads without that index.
    """
    import yaml

    config = Path(env["ES_PATH_CONF"])
    (config / "roles.yml").write_text(
        "# written by `vigil stack up`; edits are overwritten\n" + yaml.safe_dump(ROLES, sort_keys=True)
    )
    data = load(settings)
    users = data.get("users") or {}
    if set(users) == set(USERS) and (config / "users").exists():
        return
    tool = str(home / "bin" / "elasticsearch-users")
    for user, role in USERS.items():
        password = users.get(user) or secrets.token_urlsafe(24)
        subprocess.run([tool, "userdel", user], env=env, capture_output=True, text=True, timeout=120)
        _run([tool, "useradd", user, "-p", password, "-r", role], env)
        users[user] = password
    save(settings, {**load(settings), "users": users})


def configure(settings: Settings, url: str) -> dict:
    """Once ES answers: the trial licence (document-level security needs it); the users log in."""
    data = load(settings)
    elastic = ("elastic", data.get("elastic", ""))
    deadline = time.monotonic() + 60
    status, licence = request(f"{url}/_license", auth=elastic)
    # A node that has just formed its cluster answers 404 until its basic licence is generated.
    while status == 404 and time.monotonic() < deadline:
        time.sleep(1)
        status, licence = request(f"{url}/_license", auth=elastic)
    if status == 404:
        licence = {}
    elif status != 200:
        raise StackError(f"elasticsearch refused the stack's own credentials (HTTP {status}): {licence}")
    kind = licence.get("license", {}).get("type")
    if kind not in ("trial", "platinum", "enterprise"):
        status, answer = request(f"{url}/_license/start_trial?acknowledge=true", "POST", auth=elastic)
        kind = "trial" if status == 200 and answer.get("trial_was_started") else kind
    data["license"] = kind
    for user, password in data.get("users", {}).items():
        status, answer = request(f"{url}/_security/_authenticate", auth=(user, password))
        if status != 200:
            raise StackError(f"elasticsearch: user {user} cannot log in (HTTP {status}): {answer}")
    save(settings, data)
    return data


def unsecured(url: str) -> bool:
    """True when ES answers a request without credentials (it runs without security)."""
    status, _ = request(f"{url}/_cluster/health")
    return status == 200


def env_lines(settings: Settings, role: str) -> list[str]:
    """``export VIGIL_ES_...`` lines for scripts, for one of admin | writer | analyst."""
    data = load(settings)
    user = f"vigil-{role}"
    password = data.get("users", {}).get(user)
    if not password:
        return []
    return [f"export VIGIL_ES_USERNAME={user}", f"export VIGIL_ES_PASSWORD={password}"]
