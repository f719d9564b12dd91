"""`vigil report`: one self-contained HTML file, opened in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vigil.app.demo.ads import sample_documents
from vigil.app.demo.seed import index

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
HOSTILE = '<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=2</script>'


@pytest.fixture
def report_file(vigil_env, tmp_path) -> Path:
    docs = sample_documents(200)
    # Ads are hostile input: a title built to break out of the HTML and the graph's JSON.
    docs[0].title = HOSTILE
    index(vigil_env.settings.es, docs)
    out = tmp_path / "report.html"
    result = vigil_env.run("report", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    return out


def test_report_is_self_contained(report_file):
    html = report_file.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html, re.IGNORECASE)
    assert "Content-Security-Policy" in html
    assert HOSTILE not in html  # escaped everywhere it appears


def test_report_renders_in_chromium(report_file, repo_root):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    artefacts = repo_root / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
            page.on(
                "console",
                lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
            )
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith(("file:", "data:")) else problems.append(f"request: {r.url}")
                ),
            )
            page.goto(report_file.as_uri())
            page.wait_for_selector("svg#network[data-ready=true]", timeout=15000)

            assert page.locator("svg.chart").count() >= 4
            assert page.locator("#by-site rect.bar").count() > 0
            assert page.locator("#by-country rect.bar").count() > 0
            assert page.locator("#risk rect.bar").count() > 0
            assert page.locator("#indicators rect.bar").count() > 0
            assert page.locator("#shared tbody tr").count() > 0
            assert page.locator("#escalations tbody tr").count() == 3
            ads = page.locator("svg#network circle.ad").count()
            entities = page.locator("svg#network circle.entity").count()
            assert ads > 10 and entities > 3
            assert page.locator("svg#network line.link").count() >= ads

            node = page.locator("svg#network circle.entity").first
            node.hover()
            assert page.locator("#network-tip").is_visible()
            assert "shared by" in page.locator("#network-tip").inner_text()

            before = node.get_attribute("cx"), node.get_attribute("cy")
            box = node.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + 80, box["y"] + 60, steps=5)
            page.mouse.up()
            assert (node.get_attribute("cx"), node.get_attribute("cy")) != before

            graph = page.locator("svg#network > g").first
            page.mouse.move(700, 200)
            page.locator("svg#network").hover()
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(200)
            assert "scale(1)" not in (graph.get_attribute("transform") or "scale(1)")

            assert page.evaluate("window.__pwned === undefined")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(artefacts / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
