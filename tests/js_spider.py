"""A tiny spider for tests/integration/test_stack.py: renders a JavaScript-built page in Chromium.

Run: scrapy runspider tests/js_spider.py -a url=http://127.0.0.1:PORT/ -o out.json
The browser is Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) via scrapy-playwright.
"""

from __future__ import annotations

import os

import scrapy


class JsSpider(scrapy.Spider):
    name = "js_render"
    custom_settings = {
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "DOWNLOAD_HANDLERS": {
            "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
            "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        },
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            "headless": True,
            "args": [
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ],
        },
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
    }

    def __init__(self, url: str = "", **kwargs):
        super().__init__(**kwargs)
        self.url = url

    async def start(self):
        yield scrapy.Request(
            self.url,
            meta={"playwright": True, "playwright_page_methods": []},
            callback=self.parse,
        )

    def parse(self, response):
        yield {
            "url": response.url,
            "rendered": response.css("#ad .title::text").get(),
            "phone": response.css("#ad .phone::text").get(),
        }
