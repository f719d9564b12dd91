"""`vigil analyze`: the enrich analysis on saved pages without the stack — a file, a folder,
stdin; JSON lines; exit 2 naming the file and the reason."""

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from vigil.app.cli import app

ROOT = Path(__file__).resolve().parents[2]
AD = "<html><body><h1>Lisa</h1><p>Age: 19. Call seven0two 555 1234, snap: lisa_x22</p></body></html>"


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["analyze", *args], input=stdin)


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_a_file_gives_one_json_line(tmp_path):
    page = tmp_path / "ad.html"
    page.write_text(AD, encoding="utf-8")
    result = run(str(page), "--json", "--country", "US")
    assert result.exit_code == 0, result.output
    [record] = records(result.stdout)
    assert record["file"] == str(page) and record["title"] == "Lisa"
    assert record["phones"] == ["+17025551234"] and record["ages"] == [19]
    assert record["handles"] == ["snapchat:lisa_x22"]
    phone = next(e for e in record["entities"] if e["type"] == "phone")
    assert phone["obfuscated"] and record["text"][phone["start"] : phone["end"]] == phone["raw"]
    assert {"risk", "indicators", "language", "escalate"} <= set(record)


def test_a_folder_gives_one_line_per_file_in_order(tmp_path):
    (tmp_path / "b.txt").write_text("Bel 06 12345678", encoding="utf-8")
    (tmp_path / "a.html").write_text(AD, encoding="utf-8")
    (tmp_path / ".hidden").write_text("ignored", encoding="utf-8")
    result = run(str(tmp_path), "--json", "--country", "NL")
    assert result.exit_code == 0
    assert [Path(r["file"]).name for r in records(result.stdout)] == ["a.html", "b.txt"]


def test_stdin_with_url_and_language(tmp_path):
    result = run("-", "--json", "--language", "nl", "--url", "https://board.example/ad/1", stdin="Bel 06 12345678")
    [record] = records(result.stdout)
    assert record["file"] == "stdin" and record["url"] == "https://board.example/ad/1"
    assert record["phones"] == ["+31612345678"]


def test_unreadable_input_exits_2_naming_the_file(tmp_path):
    missing = tmp_path / "nope.html"
    result = run(str(missing), "--json")
    assert result.exit_code == 2 and str(missing) in result.stderr and "no such file" in result.stderr
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x00\x01\x02")
    result = run(str(binary))
    assert result.exit_code == 2 and "binary" in result.stderr


def test_the_installed_command_runs_without_the_stack(tmp_path):
    """Kafka and Elasticsearch point at a closed port: stdin and a folder are still analysed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VIGIL_HOME": str(tmp_path / "home"),
           "VIGIL_KAFKA_BOOTSTRAP": "127.0.0.1:1", "VIGIL_ES_URL": "http://127.0.0.1:1"}  # fmt: skip
    command = [sys.executable, "-c", "from vigil.app.cli import main; main()", "analyze"]
    done = subprocess.run(
        [*command, "-", "--json", "--country", "US"],
        input="call 702-555-1234", capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["phones"] == ["+17025551234"]
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "ad.html").write_text(AD, encoding="utf-8")
    (folder / "bad.bin").write_bytes(b"\x00\x01")
    done = subprocess.run(
        [*command, str(folder), "--json", "--country", "US"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 2 and f"{folder / 'bad.bin'}: binary content" in done.stderr
    assert [r["phones"] for r in records(done.stdout)] == [["+17025551234"]]


def test_the_configured_limits_apply_as_in_the_enrich_worker():
    """The command loads the worker's analyser: `limits.text_chars` bounds what it reads."""
    text = "x " * 1500 + "call 702-555-1234"
    result = CliRunner().invoke(app, ["analyze", "-", "--json", "--country", "US"], input=text,
                                env={"VIGIL_LIMITS_TEXT_CHARS": "1000"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert records(result.stdout)[0]["phones"] == []
    assert records(run("-", "--json", "--country", "US", stdin=text).stdout)[0]["phones"] == ["+17025551234"]
