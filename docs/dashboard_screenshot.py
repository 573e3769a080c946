"""Screenshot every tab of the operators' dashboard (`/dashboard`) for the docs, from a freshly seeded home.

    python docs/dashboard_screenshot.py [--home DIR] [--keep] [--reuse] [--out-dir docs] [--width 1280]
                                        [--conversations 200] [--seed 7] [--reviews-zip PATH]
                                        [--train-rows 20000] [--analyse-rows 3000]

1. Seeds a home with docs/seed_demo.py (the seeding options are its own): a new temporary folder, removed at the end
   unless --keep, or --home naming a new or empty one; --reuse --home DIR serves an already seeded home as it is.
2. Serves the real app (ui.app.create_app) with uvicorn on 127.0.0.1 and a free port, and waits for `/readyz`.
3. Logs in as the seeded agent with Debian's Chromium through Playwright and saves one full-page PNG per tab into
   --out-dir: dashboard-overview.png, -sentiment, -poorly-answered, -products, -reviews, -alerts.

Needs `pip install playwright` and a Chromium on PATH (Debian: `apt-get install chromium fonts-noto-cjk`);
Playwright's own browser download is not used. Exits non-zero, saying which step failed, when one does.
Takes about two minutes on two cores: about a minute preparing a new home (encoder, router, FAQ index), 20 s
training and reading the reviews, 20 s for the browser.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# docs/ is on sys.path when this runs as a script; seed_demo puts the repository there too.
from seed_demo import AGENT, PASSWORD, REPO, StepFailed, add_arguments, describe, open_home, seed, step  # noqa: E402

TABS = [  # (tab label, file name, plots drawn when it is ready)
    ("Overview · 概览", "dashboard-overview.png", 5),
    ("Sentiment · 情绪", "dashboard-sentiment.png", 2),
    ("Answered poorly · 待改进回答", "dashboard-poorly-answered.png", 0),
    ("Products & orders · 商品与订单", "dashboard-products.png", 2),
    ("Reviews · 商品评论", "dashboard-reviews.png", 0),
    ("Alerts · 预警", "dashboard-alerts.png", 0),
]
RENDERED_JS = """() => {
  const visible = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) &&
                       getComputedStyle(e).visibility !== 'hidden';
  const busy = [...document.querySelectorAll('.pending, .eta-bar, .progress-text, .loader')].filter(visible);
  const plots = [...document.querySelectorAll('.vega-embed')].filter(visible);
  const drawn = plots.filter(p => p.querySelector('canvas, svg'));
  return {busy: busy.length, plots: plots.length, drawn: drawn.length};
}"""


@contextlib.contextmanager
def serving(app, timeout_s: float = 60.0):
    """Serve `app` with uvicorn on 127.0.0.1 and a free port until the block ends; yields its base URL once
    `/readyz` answers 200 (models loaded, database answering)."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with step("start the app and wait for /readyz"):
            thread.start()
            deadline, last = time.monotonic() + timeout_s, "no answer"
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
                        if response.status == 200:
                            break
                except urllib.error.HTTPError as exc:  # 503 while not ready: its body says why
                    last = f"{exc.code} {exc.read().decode(errors='replace')[:300]}"
                except OSError as exc:
                    last = str(exc)
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise StepFailed(f"the app on port {port} was not ready within {timeout_s:.0f} s: {last}")
                time.sleep(0.3)
            print(f"   {base}/dashboard/ (agent {AGENT!r})")
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_rendered(page, min_plots: int, timeout_s: float = 60.0) -> dict:
    """Wait until no visible component is pending and at least `min_plots` visible plots are drawn."""
    deadline = time.monotonic() + timeout_s
    state = {}
    while time.monotonic() < deadline:
        state = page.evaluate(RENDERED_JS)
        if not state["busy"] and state["drawn"] >= min_plots and state["drawn"] == state["plots"]:
            page.wait_for_timeout(1500)  # the plots' own transitions
            return state
        page.wait_for_timeout(400)
    raise StepFailed(f"the tab did not finish rendering in {timeout_s:.0f} s: {state}")


def open_tab(page, label: str) -> None:
    tab = page.get_by_role("tab", name=label, exact=True)
    if not tab.count() or not tab.first.is_visible():
        # Tabs that do not fit the bar are in Gradio's overflow menu.
        page.locator(".overflow-menu button, button.overflow-menu, [class*=overflow] button").first.click()
        page.wait_for_timeout(300)
        page.get_by_role("button", name=label, exact=True).or_(page.get_by_text(label, exact=True)).first.click()
    else:
        tab.first.click()
    page.wait_for_timeout(600)


def select_topic(page) -> str:
    """Click the first topic row that has an agent's answer (else the first row); returns the answer box's text."""
    from ui.dashboard import NO_ANSWER

    cell = lambda row, column: page.locator(f"[data-testid=cell-{row}-{column}]:visible")  # noqa: E731
    cell(0, 1).wait_for(timeout=30_000)
    chosen = 0
    for row in range(8):
        if not cell(row, 4).count():
            break
        if NO_ANSWER not in cell(row, 4).inner_text():
            chosen = row
            break
    cell(chosen, 1).click()
    page.wait_for_function("() => [...document.querySelectorAll('p')].some(p => / messages, intent /.test("
                           "p.innerText))", timeout=15_000)
    page.wait_for_timeout(800)
    return page.locator("textarea:visible").last.input_value()


def wait_for_tab_content(page, name: str) -> None:
    """What each tab without plots shows last: the selected topic, the report's charts, the alerts' rows."""
    if name == "dashboard-poorly-answered.png":
        page.get_by_text(re.compile(r"poorly answered customer messages in")).first.wait_for(timeout=120_000)
        print(f"   topic selected; the answer box holds {len(select_topic(page))} characters")
    elif name == "dashboard-reviews.png":
        # The charts stand below the fold, lazily loaded: a full-page screenshot does not scroll to them.
        page.locator("img").nth(2).wait_for(state="attached", timeout=30_000)
        page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
        page.locator("img:visible").nth(2).wait_for(timeout=30_000)
        page.wait_for_function("() => [...document.querySelectorAll('img')].filter(i => i.offsetWidth)"
                               ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
    elif name == "dashboard-alerts.png":
        page.locator("[data-testid=cell-0-4]:visible").wait_for(timeout=30_000)  # a window count


def screenshots(url: str, out_dir: Path, width: int) -> list[Path]:
    """Log in to `url`/dashboard/ as the seeded agent and save one full-page PNG per tab into `out_dir`."""
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser_path:
        raise StepFailed("no chromium on PATH: apt-get install chromium fonts-noto-cjk")
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": width, "height": 900}, locale="en-US")
        with step("open /dashboard and log in"):
            page.goto(f"{url}/dashboard/", wait_until="load")
            password = page.locator("input[type=password]")
            password.wait_for(timeout=30_000)
            page.locator("input:not([type=password]):visible, textarea:visible").first.fill(AGENT)
            password.fill(PASSWORD)
            page.get_by_role("button", name=re.compile(r"^\s*log\s*in\s*$", re.I)).first.click()
            page.get_by_text("Shop analytics · 数据看板").first.wait_for(timeout=60_000)
        with step("wait for the figures"):
            page.get_by_text(re.compile(r"\d+ conversations · ")).first.wait_for(timeout=90_000)
        for label, name, plots in TABS:
            with step(f"tab {label}"):
                open_tab(page, label)
                wait_rendered(page, plots)
                wait_for_tab_content(page, name)
                page.screenshot(path=str(out_dir / name), full_page=True)
                written.append(out_dir / name)
                print(f"   saved {out_dir / name}")
        browser.close()
    return written


def run(opts, home: Path) -> None:
    """Seed `home` (unless --reuse), say what it holds, serve it and screenshot the dashboard."""
    from ui.app import create_app

    settings, assistant = open_home(home)
    if not opts.reuse:
        seed(settings, assistant, opts)
    describe(assistant.engine)
    with serving(create_app(settings, assistant)) as url:
        screenshots(url, opts.out_dir, opts.width)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a new or empty folder to seed (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home (its path is printed)")
    parser.add_argument("--reuse", action="store_true", help="with --home: serve an already seeded home as it is")
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs", help="where the PNGs go")
    parser.add_argument("--width", type=int, default=1280, help="the browser window's width in pixels")
    add_arguments(parser)
    opts = parser.parse_args()
    if opts.reuse and opts.home is None:
        parser.error("--reuse needs --home DIR: the home to serve")
    logging.basicConfig(level=logging.WARNING, format="   %(levelname)s %(name)s: %(message)s")
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also through a pipe
    temporary = opts.home is None
    home = Path(tempfile.mkdtemp(prefix="dashboard-shots-")) if temporary else opts.home.resolve()
    if opts.reuse and not (home / "assistant.db").is_file():
        print(f"--reuse: {home} has no assistant.db to serve", file=sys.stderr)
        return 2
    if not temporary and not opts.reuse and home.exists() and any(home.iterdir()):
        print(f"{home} is not empty: give an empty folder (or --reuse to serve what it holds)", file=sys.stderr)
        return 2
    home.mkdir(parents=True, exist_ok=True)
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        run(opts, home)
    except StepFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if temporary and not opts.keep:
            shutil.rmtree(home, ignore_errors=True)
        elif temporary:
            print(f"home kept: {home}")
    print(f"all done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
