"""The folder under /var/lib/vigil that holds a private state directory's service data belongs to
that state directory: one made anew at the same path (a fresh clone) starts clean."""

import os
import shutil

import pytest

from vigil.app.stack import accounts
from vigil.core.config import CREDENTIALS_FILE, Settings

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="only root moves service data out of the state directory"
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "SERVICE_BASE", tmp_path / "lib")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("VIGIL_HOME", str(private / "home"))
    (private / "home").mkdir()
    return private / "home"


def volume(settings: Settings):
    return accounts.service_root(settings, "s3") / "data" / "1.dat"


def test_the_same_state_directory_keeps_its_data_and_a_new_one_at_its_path_starts_clean(home):
    settings = Settings()
    accounts.claim_service_base(settings)
    volume(settings).parent.mkdir(parents=True)
    volume(settings).write_text("volume")
    accounts.claim_service_base(settings)
    assert volume(settings).read_text() == "volume", "a restart keeps the data"

    shutil.rmtree(home)
    home.mkdir()
    fresh = Settings()
    accounts.claim_service_base(fresh)
    assert not volume(fresh).exists(), "a fresh clone at the same path inherited the old stack's data"
    assert (home / accounts.CLAIM_FILE).read_text() == (
        volume(fresh).parents[2] / accounts.OWNER_FILE
    ).read_text()


def test_data_left_by_an_older_vigil_is_adopted_only_by_a_state_directory_that_ran_a_stack(home):
    settings = Settings()
    volume(settings).parent.mkdir(parents=True)
    volume(settings).write_text("volume")
    (home / CREDENTIALS_FILE).write_text("{}")
    accounts.claim_service_base(settings)
    assert volume(settings).exists(), "an upgraded stack lost its data"

    (volume(settings).parents[2] / accounts.OWNER_FILE).unlink()
    (home / CREDENTIALS_FILE).unlink()
    (home / accounts.CLAIM_FILE).unlink()
    accounts.claim_service_base(settings)
    assert not volume(settings).exists(), "a state directory that never ran a stack took over foreign data"
