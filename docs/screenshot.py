"""Drive the running chat in headless Chromium like a customer and save screenshots for the README.

    python docs/screenshot.py [--url http://127.0.0.1:7860] [--out docs/chat.png]

Needs `pip install playwright` and a Chromium on PATH (Debian: `apt-get install chromium
fonts-noto-cjk`); Playwright's own browser download is not used. Exits non-zero when a step of the
conversation does not show what a customer should see.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from playwright.sync_api import sync_playwright

TURNS = [
    ("Hi! Where is my order MM20261104?", "MM20261104"),
    ("我想退货，怎么操作？", "我的订单"),
    ("This is the WORST shop ever!!! my jacket arrived ripped and nobody answers", "agent"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--out", default="docs/chat.png")
    parser.add_argument("--mobile-out", default="docs/chat-mobile.png")
    opts = parser.parse_args()
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser_path:
        print("no chromium on PATH: apt-get install chromium fonts-noto-cjk", file=sys.stderr)
        return 2
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1100, "height": 1000}, locale="en-US")
        page.goto(opts.url, wait_until="load")
        box = page.locator("textarea").first
        box.wait_for(timeout=30_000)
        for number, (text, expected) in enumerate(TURNS, start=1):
            box.fill(text)
            box.press("Enter")
            bot = page.locator(".message-row.bot-row, [data-testid='bot']")
            page.wait_for_function(
                "([n, expected]) => { const rows = document.querySelectorAll('[data-testid=\"bot\"]');"
                " return rows.length >= n && rows[n - 1].innerText.includes(expected); }",
                arg=[number, expected], timeout=30_000)
        notice = page.locator("#agent-notice")
        notice.wait_for(state="visible", timeout=10_000)
        page.screenshot(path=opts.out, full_page=True)
        print(f"saved {opts.out}")
        mobile = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
        mobile.goto(opts.url, wait_until="load")
        mobile.locator("textarea").first.wait_for(timeout=30_000)
        mobile.wait_for_timeout(1500)
        mobile.screenshot(path=opts.mobile_out, full_page=True)
        print(f"saved {opts.mobile_out}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
