"""Unprivileged system accounts for the services that refuse to run as root (Elasticsearch, PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
from pathlib import Path

from vigil.app.stack.errors import StackError
from vigil.core.accounts import AccountError, system_account
from vigil.core.config import CREDENTIALS_FILE, S3_CREDENTIALS_FILE, Settings

SERVICE_BASE = Path("/var/lib/vigil")
OWNER_FILE = "owner"  # in the service base: the id of the state directory it belongs to
CLAIM_FILE = "service-base.id"  # in the state directory: the same id
STACK_TRACES = (CREDENTIALS_FILE, S3_CREDENTIALS_FILE, "kafka/data")  # what a state directory that ran a stack holds


def world_traversable(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents] if p.exists())


def service_root(settings: Settings, name: str) -> Path:
    """``<state>/<name>`` when an unprivileged account can reach it, else ``/var/lib/vigil/<hash>/<name>``.

    As root, the service runs as an account that cannot enter a state directory below a private
    folder (a 0700 checkout or temporary directory); then it lives outside, one folder per state
    directory.
    """
    default = settings.state_dir / name
    if os.geteuid() != 0 or world_traversable(settings.state_dir):
        return default
    digest = hashlib.sha256(str(settings.state_dir).encode()).hexdigest()[:12]
    return SERVICE_BASE / digest / name


def claim_service_base(settings: Settings) -> None:
    """Make the ``/var/lib/vigil/<hash>`` folder this state directory's own before any service
    starts in it.

    The folder is named after the state directory's path, so a state directory made anew at a
    path used before (a fresh clone where a deleted one was) would find the old one's service data
    there, which its new credentials and ports do not fit. SeaweedFS then refuses to grow volumes,
    and Elasticsearch keeps another stack's users. Such a folder is removed. A folder without an
    owner, left by an older Vigil, is adopted when this state directory has run a stack before.
    """
    if os.geteuid() != 0 or world_traversable(settings.state_dir):
        return
    base = service_root(settings, "-").parent
    claim = settings.state_dir / CLAIM_FILE
    mine = claim.read_text().strip() if claim.exists() else ""
    theirs = (base / OWNER_FILE).read_text().strip() if (base / OWNER_FILE).exists() else ""
    ran_before = any((settings.state_dir / trace).exists() for trace in STACK_TRACES)
    if base.exists() and ((theirs and theirs != mine) or (not theirs and not ran_before)):
        shutil.rmtree(base)
    if not mine:
        mine = secrets.token_hex(16)
        claim.write_text(mine)
    base.mkdir(parents=True, exist_ok=True)
    (base / OWNER_FILE).write_text(mine)


def run_as(user: str, service: str, setting: str) -> pwd.struct_passwd | None:
    """The account ``service`` runs as when we are root (a system user, created if missing); None when not root."""
    try:
        return system_account(user)
    except AccountError as exc:
        raise StackError(f"{service} refuses to run as root and {exc} (set {setting} to an existing account)") from None


def check_traversable(root: Path, account: pwd.struct_passwd, service: str) -> None:
    """``service`` (as ``account``) must reach ``root`` through every parent directory."""
    for parent in [root, *root.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001 and parent.stat().st_uid != account.pw_uid:
            raise StackError(
                f"{service} runs as {account.pw_name!r}, which cannot enter {parent} "
                f"(mode {oct(mode & 0o777)}); put the state directory (VIGIL_HOME) somewhere "
                "world-traversable or chmod o+x that directory"
            )


def hand_over(account: pwd.struct_passwd, root: Path, service: str) -> None:
    """Give the service's folder to its account. Vigil runs with umask 077, so the folders it made
    above it under /var/lib/vigil are opened to traversal (0711: no listing) and the tree is chowned."""
    for parent in root.parents:
        if parent == SERVICE_BASE or SERVICE_BASE in parent.parents:
            parent.chmod(0o711)
    chown_tree(account, root)
    check_traversable(root, account, service)


def chown_tree(account: pwd.struct_passwd, *tops: Path) -> None:
    for top in tops:
        for dirpath, _dirnames, filenames in os.walk(top):
            os.chown(dirpath, account.pw_uid, account.pw_gid)
            for f in filenames:
                os.chown(os.path.join(dirpath, f), account.pw_uid, account.pw_gid)


def setpriv(account: pwd.struct_passwd | None, cmd: list[str]) -> list[str]:
    """``cmd`` run as ``account`` (unchanged when None)."""
    if account is None:
        return cmd
    exe = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [exe, f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups", "--", *cmd]
