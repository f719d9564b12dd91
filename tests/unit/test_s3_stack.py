"""The local S3 server's command line (loopback only, its own port block, no telemetry) and the
settings that pick up its generated identity."""

from __future__ import annotations

import json
import os
import stat

from vigil.app.stack.s3 import PORTS, SeaweedS3
from vigil.core.config import S3_CREDENTIALS_FILE, Settings


def test_server_listens_on_loopback_only_on_its_own_ports(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path))
    service = SeaweedS3(Settings(home=tmp_path, stack={"s3_port": 40000}))
    command = service.command()
    assert "-ip=127.0.0.1" in command and "-ip.bind=127.0.0.1" in command
    assert "-master.telemetry=false" in command
    assert "-s3.port.iceberg=0" in command and "-s3.port.lance=0" in command
    ports = sorted(int(arg.split("=")[1]) for arg in command if arg.split("=")[0].lstrip("-") in PORTS)
    assert ports == list(range(40000, 40008))
    assert service.endpoint == "http://127.0.0.1:40000"


def test_generated_identity_is_private_and_used_by_an_s3_store_without_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path))
    service = SeaweedS3(Settings(home=tmp_path))
    keys = service.credentials()
    assert service.credentials() == keys, "made once"
    assert stat.S_IMODE(os.stat(tmp_path / S3_CREDENTIALS_FILE).st_mode) == 0o600
    picked = Settings(home=tmp_path, evidence={"store": "s3://evidence"}).evidence
    assert picked.s3_access_key.get_secret_value() == keys["access_key"]
    assert picked.s3_secret_key.get_secret_value() == keys["secret_key"]
    assert picked.s3_endpoint_url == "http://127.0.0.1:58333"
    own = Settings(
        home=tmp_path, evidence={"store": "s3://evidence", "s3_access_key": "mine", "s3_endpoint_url": "https://s3.example"}
    ).evidence
    assert own.s3_access_key.get_secret_value() == "mine" and own.s3_endpoint_url == "https://s3.example"
    assert Settings(home=tmp_path).evidence.s3_access_key is None, "only for an s3:// store"
    (tmp_path / S3_CREDENTIALS_FILE).write_text(json.dumps({"access_key": ""}))
    assert Settings(home=tmp_path, evidence={"store": "s3://evidence"}).evidence.s3_access_key is None
