"""Fixtures the integration tests share: ``vigil`` processes stopped after the test (their logs
printed, so pytest shows them on failure), a loopback webhook receiver (test_monitoring.py), and
the local S3 server (``s3_server``, session) with a bucket per test (``s3_store``)."""

from __future__ import annotations

import pytest
import yaml

from tests.helpers import running


@pytest.fixture
def processes():
    started: list = []
    yield started
    for process in reversed(started):
        process.stop()
    for process in started:
        print(process.tail())


@pytest.fixture
def webhook():
    from tests.integration.test_monitoring import Webhook

    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture(scope="session")
def s3_server():
    """The local stack's S3 server (SeaweedFS, ``vigil stack up --with s3``): built from its Go
    module and started now if needed (never stopped here)."""
    from vigil.app.stack.s3 import SeaweedS3
    from vigil.core.config import load_settings

    return running(SeaweedS3(load_settings()), "S3 server", with_s3=True)


@pytest.fixture
def s3_store(s3_server, vigil_env):
    """An S3Store on the local S3 server in a bucket of its own (emptied and removed afterwards),
    and ``vigil_env``'s configuration pointing ``evidence.store`` at it."""
    from vigil.core.config import load_settings
    from vigil.core.evidence import open_store

    bucket = f"test-{vigil_env.uid}"
    config = yaml.safe_load(vigil_env.config_path.read_text()) or {}
    config["evidence"] = {"store": f"s3://{bucket}/evidence"}
    vigil_env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    vigil_env.settings = load_settings(vigil_env.config_path)
    store = open_store(vigil_env.settings)
    store.ensure_bucket()
    yield store
    client = s3_server.client()
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001
        print(f"s3_store teardown: could not remove bucket {bucket}: {exc}")
