"""Fixtures the integration tests share: ``vigil`` processes stopped after the test (their logs
printed, so pytest shows them on failure) and a loopback webhook receiver (test_monitoring.py)."""

from __future__ import annotations

import pytest


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
