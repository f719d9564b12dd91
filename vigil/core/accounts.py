"""Unprivileged system accounts for the processes Vigil starts as root (Elasticsearch, Chromium)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess


class AccountError(Exception):
    """The account is missing and could not be created; the message says how to fix it."""


def system_account(user: str) -> pwd.struct_passwd | None:
    """The account to drop to when running as root (created, with its own group, if missing).

    None when not root: the current user is already unprivileged.
    """
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(user)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    proc = subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 and "already exists" not in proc.stderr:
        raise AccountError(f"creating the system user {user!r} failed: {proc.stderr.strip()}")
    return pwd.getpwnam(user)
