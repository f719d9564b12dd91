"""A crawl job that can never run (unknown profile, a file outside the profiles directory, an
invalid profile) is failed by the crawl worker itself, at once: no attempt, no crawl process."""

from __future__ import annotations

import pytest
import yaml

from crawlers.worker import CrawlHandler, refusal
from vigil.core.config import Settings
from vigil.core.records import CrawlJob


class Reports:
    def __init__(self) -> None:
        self.statuses = []

    def report(self, status) -> None:
        self.statuses.append(status)


@pytest.fixture
def handler(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "board.yaml").write_text(
        yaml.safe_dump({"id": "board", "start_urls": ["http://127.0.0.1:9/"], "ads": {"url_regex": "/ad/"}})
    )
    (tmp_path / "profiles" / "broken.yaml").write_text(yaml.safe_dump({"id": "broken", "start_urls": "not a list"}))
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump({"id": "evil", "start_urls": ["http://127.0.0.1:9/"]}))
    handler = CrawlHandler(Settings(profiles_dir=tmp_path / "profiles"), slots=1)
    handler.status = Reports()

    def crawl(job, known):
        raise AssertionError(f"a crawl process was started for {job.profile_id}")

    handler.crawl = crawl
    handler.known = lambda profile_id: set()
    return handler


@pytest.mark.parametrize(
    ("job", "cause"),
    [
        (CrawlJob(profile_id="no-such-profile", reason="test"), "no profile with id 'no-such-profile'"),
        (CrawlJob(profile_id="evil", profile_path="../evil.yaml", reason="test"), "only name profile files inside"),
        (CrawlJob(profile_id="broken", reason="test"), "start_urls"),
    ],
)
def test_a_job_that_can_never_run_fails_at_once_without_a_crawl(handler, job, cause):
    final = handler.execute(job)
    assert final is not None and final.state == "failed" and final.attempt == 1
    assert final.message.startswith("the profile or configuration is invalid: ") and cause in final.message
    assert [status.state for status in handler.status.statuses] == ["failed"]


def test_a_valid_profile_is_not_refused(handler):
    assert refusal(CrawlJob(profile_id="board", reason="test"), handler.settings) == ""
