"""The ``vigil`` command registers every command module, and one that cannot be imported stops it."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from vigil.app import cli, commands


def test_every_command_module_is_registered():
    on_disk = {path.stem for path in Path(commands.__file__).parent.glob("*.py")} - {"__init__"}
    assert set(cli.COMMAND_MODULES) == on_disk
    registered = {group.name for group in cli.app.registered_groups} | {
        command.name or command.callback.__name__ for command in cli.app.registered_commands
    }
    assert {"stack", "worker", "crawl", "replay", "evidence"} <= registered


def test_a_command_module_that_fails_to_import_fails_loudly(tmp_path, monkeypatch):
    (tmp_path / "broken.py").write_text("import vigil_no_such_dependency\n")
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["broken"])
    monkeypatch.setattr(cli, "app", typer.Typer())
    with pytest.raises(ModuleNotFoundError, match="vigil_no_such_dependency"):
        cli._register()
