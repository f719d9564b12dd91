"""Session-wide fixtures: the real local stack, and per-test isolated topics and indices.

* ``stack`` (session): the Settings of a running stack; ``vigil.app.stack.ensure_up`` starts Kafka and
  Elasticsearch if they are not healthy yet and reuses running ones. It never stops the stack
  (deploy/local/run-tests.sh does, if it started it). VIGIL_HOME defaults to <repo>/.vigil.
* ``vigil_env`` (function): unique topic names (``test.<uid>.pages.raw``...), ES aliases
  (``test-<uid>-vigil-ads``...) and consumer groups (``test-<uid>-networks``...) written to a YAML
  file; topics created and templates installed;
  ``.run(*args)`` runs the ``vigil`` CLI with that configuration. Its indices are deleted afterwards.
* ``repo_root`` (session), ``shared_data`` (session: ../shared/data/dig-ads or $VIGIL_DIG_DATA, skipped
  when absent).
* ``postgres`` (session): the local PostgreSQL of ``vigil stack up --with postgres``, started if
  needed (never stopped here; skipped when Debian's ``postgresql`` is not installed);
  ``postgres_url`` (function): a fresh database on it, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("VIGIL_HOME", str(REPO_ROOT / ".vigil"))


def vigil_executable() -> str:
    """The ``vigil`` console script of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / "vigil"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("vigil")
    if not found:
        raise RuntimeError("the vigil command is not installed (pip install -e .)")
    return found


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    from vigil.app.demo.dig_sample import data_dir

    path = data_dir().resolve()
    if not path.is_dir():
        reason = f"shared data set not found at {path}"
        print(f"skipping: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def stack():
    """Settings of the running local stack (started now if needed; never stopped here)."""
    from vigil.app.stack import StackError, ensure_up
    from vigil.core.config import load_settings

    settings = load_settings()
    try:
        ensure_up(settings)
    except StackError as exc:
        pytest.fail(f"the local stack is not available: {exc}", pytrace=False)
    return load_settings()  # again: a first `up` may just have generated the ES credentials


@dataclass
class VigilEnv:
    """An isolated configuration on the shared stack: unique topics and ES aliases."""

    settings: object
    config_path: Path
    env: dict[str, str]
    uid: str
    cwd: Path = field(default=REPO_ROOT)

    def run(self, *args: str, timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess:
        """Run ``vigil ARGS`` with this configuration; returns the CompletedProcess (text mode)."""
        return subprocess.run(
            [vigil_executable(), *map(str, args)],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )


def _unique_config(settings, uid: str) -> dict:
    """Config overrides naming every topic ``test.<uid>.*`` and every alias ``test-<uid>-*``, on the
    session's stack (its addresses and stack settings carried over; credentials come from its home)."""
    topics = {
        key: f"test.{uid}.{name.removeprefix('vigil.')}"
        for key, name in settings.kafka.topics.model_dump().items()
    }
    indices = {key: f"test-{uid}-{name}" for key, name in settings.es.indices.model_dump().items()}
    # consumer groups of their own too: a worker left over from an earlier test (one killed on
    # purpose, or still stopping) would otherwise share a group with this test's workers, and
    # every rebalance of the one would wait on the other
    groups = {section: {"group_id": f"test-{uid}-{section}"} for section in settings.consumer_groups()}
    return {
        **groups,
        "home": str(settings.state_dir),
        "kafka": {
            "topics": topics,
            "bootstrap": settings.kafka.bootstrap,
            "controller_port": settings.kafka.controller_port,
        },
        "es": {"indices": indices, "url": settings.es.url},
        "stack": settings.stack.model_dump(mode="json", exclude_defaults=True),
    }


@pytest.fixture
def vigil_env(stack, tmp_path: Path):
    from vigil.core.config import load_settings
    from vigil.core.elastic import client, install_templates
    from vigil.core.kafka import ensure_topics

    uid = uuid.uuid4().hex[:10]
    config_path = tmp_path / "vigil.yaml"
    config_path.write_text(yaml.safe_dump(_unique_config(stack, uid), sort_keys=False))
    settings = load_settings(config_path)
    ensure_topics(settings.kafka)
    install_templates(settings.es)

    env = dict(os.environ)
    env["VIGIL_CONFIG"] = str(config_path)
    env["VIGIL_HOME"] = str(settings.state_dir)
    yield VigilEnv(settings=settings, config_path=config_path, env=env, uid=uid)

    # Best effort: indices (and their templates) go; topics are deleted if the broker lets us.
    try:
        es = client(settings.es)
        names = list(es.indices.get(index=f"test-{uid}-*", expand_wildcards="all").keys())
        if names:
            es.indices.delete(index=",".join(names), ignore_unavailable=True)
        for alias in settings.es.indices.model_dump().values():
            if es.indices.exists_index_template(name=alias):
                es.indices.delete_index_template(name=alias)
        es.close()
    except Exception as exc:  # noqa: BLE001
        print(f"vigil_env teardown: could not delete indices test-{uid}-*: {exc}")
    try:
        from vigil.core.kafka import admin

        adm = admin(settings.kafka)
        try:
            mine = [t for t in adm.list_topics() if t.startswith(f"test.{uid}.")]
            if mine:
                adm.delete_topics(mine)
        finally:
            adm.close()
    except Exception:  # noqa: BLE001
        pass


@pytest.fixture(scope="session")
def postgres():
    """The local stack's PostgreSQL service (started now if needed; never stopped here)."""
    from vigil.app.stack import StackError
    from vigil.app.stack.postgres import Postgres, server_bin
    from vigil.core.config import load_settings

    service = Postgres(load_settings())
    try:
        server_bin()
    except StackError as exc:
        pytest.skip(str(exc))
    from tests.helpers import running

    return running(service, "PostgreSQL", with_postgres=True)


@pytest.fixture
def postgres_url(postgres) -> str:
    """A new, empty database on the local PostgreSQL; dropped (with its sessions) afterwards."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = dict(host="127.0.0.1", port=postgres.port, user="vigil", dbname="vigil", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres.url.rpartition("/")[0] + "/" + name
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
