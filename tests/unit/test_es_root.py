"""Where the local stack puts Elasticsearch when it runs ES under an unprivileged account."""

import os

import pytest

from vigil.app.stack.elasticsearch import es_root
from vigil.core.config import Settings


def test_explicit_es_root_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_STACK_ES_ROOT", str(tmp_path / "es"))
    settings = Settings()
    assert es_root(settings) == (tmp_path / "es").resolve()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands ES to another account")
def test_private_state_dir_moves_es_out_as_root(tmp_path, monkeypatch):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("VIGIL_HOME", str(private / "home"))
    root = es_root(Settings())
    assert str(root).startswith("/var/lib/vigil/")
    assert root == es_root(Settings()), "stable per state directory"


def test_traversable_state_dir_keeps_es_inside(tmp_path, monkeypatch):
    public = tmp_path / "public"
    public.mkdir()
    for path in [public, *public.parents]:
        if not path.stat().st_mode & 0o001:
            pytest.skip(f"{path} is not world-traversable on this machine")
    monkeypatch.setenv("VIGIL_HOME", str(public / "home"))
    settings = Settings()
    assert es_root(settings) == settings.state_dir / "elasticsearch"
