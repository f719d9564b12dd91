"""Configuration errors: exit code 2, the key named, no traceback (YAML value, env var, unknown key)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, vigil_executable
from vigil.core.config import ConfigError, load_settings


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [vigil_executable(), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("kafka:\n  partitions: 0\n", "kafka.partitions"),
        ("kafka:\n  bootstrap: no-port-here\n", "kafka.bootstrap"),
        ("es:\n  url: ftp://example\n", "es.url"),
        ("stack:\n  es_heap: 512m\n  ready_timeout: -1\n", "stack.ready_timeout"),
    ],
)
def test_bad_yaml_value_exits_2_naming_the_key(tmp_path: Path, yaml_text: str, key: str):
    config = tmp_path / "vigil.yaml"
    config.write_text(yaml_text)
    proc = _run(["stack", "status"], _clean_env(VIGIL_CONFIG=str(config)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert key in proc.stderr
    assert str(config) in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("var", "value", "key"),
    [
        ("VIGIL_KAFKA_BOOTSTRAP", "not-a-host-port", "kafka.bootstrap"),
        ("VIGIL_TOR_SOCKS_PORT", "ninety", "tor.socks_port"),
        ("VIGIL_LOG_LEVEL", "LOUD", "log_level"),
    ],
)
def test_bad_env_var_exits_2_naming_the_key(var: str, value: str, key: str):
    proc = _run(["stack", "status"], _clean_env(**{var: value}))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert key in proc.stderr
    assert "environment" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unknown_key_exits_2_naming_it(tmp_path: Path):
    config = tmp_path / "vigil.yaml"
    config.write_text("kafka:\n  bootstrapp: 127.0.0.1:9092\n")
    proc = _run(["init"], _clean_env(VIGIL_CONFIG=str(config)))
    assert proc.returncode == 2
    assert "kafka.bootstrapp" in proc.stderr
    assert "unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unknown_top_level_key_and_bad_yaml(tmp_path: Path):
    config = tmp_path / "vigil.yaml"
    config.write_text("kafak: {}\n")
    with pytest.raises(ConfigError, match=r"kafak: unknown key"):
        load_settings(config)
    config.write_text("kafka: [unclosed\n")
    proc = _run(["stack", "status"], _clean_env(VIGIL_CONFIG=str(config)))
    assert proc.returncode == 2
    assert "not valid YAML" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_config_file_exits_2(tmp_path: Path):
    proc = _run(["stack", "status"], _clean_env(VIGIL_CONFIG=str(tmp_path / "absent.yaml")))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_env_wins_over_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "vigil.yaml"
    config.write_text("kafka:\n  bootstrap: 10.0.0.1:9092\nes:\n  url: http://10.0.0.1:9200\n")
    monkeypatch.setenv("VIGIL_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    monkeypatch.delenv("VIGIL_ES_URL", raising=False)
    settings = load_settings(config)
    assert settings.kafka.bootstrap == "127.0.0.1:19092"
    assert settings.kafka_is_external
    assert settings.es.url == "http://10.0.0.1:9200"
    assert not settings.es_is_external


def test_stack_defaults_are_consistent(monkeypatch: pytest.MonkeyPatch):
    for var in [v for v in os.environ if v.startswith("VIGIL_")]:
        monkeypatch.delenv(var)
    settings = load_settings(Path(os.devnull))
    assert settings.stack.kafka_version.startswith("4.")
    assert settings.stack.elasticsearch_version.startswith("9.")
    assert settings.kafka.port == 9092 and settings.es.port == 9200


@pytest.mark.parametrize(
    ("yaml_text", "args", "message"),
    [
        ("jobs:\n  group_id: shared\nnetworks:\n  group_id: shared\n", ["stack", "status"],
         "jobs.group_id and networks.group_id are both 'shared'"),
        ("alerts:\n  group_id: vigil-enrich\n", ["worker", "enrich"], "'vigil-enrich' is alerts.group_id already"),
    ],
)  # fmt: skip
def test_two_kinds_of_worker_in_one_consumer_group_are_refused(tmp_path: Path, yaml_text, args, message):
    config = tmp_path / "vigil.yaml"
    config.write_text(yaml_text)
    proc = _run(args, _clean_env(VIGIL_CONFIG=str(config)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
