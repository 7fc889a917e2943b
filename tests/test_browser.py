"""Open every HTML page of the demo audit in headless Chromium, offline: no network request, no
console error. Screenshots are kept in the report directory (<page>.png)."""

import shutil

import pytest

pytestmark = pytest.mark.slow
HIDDEN = "\x00\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not found: install Debian's package (apt-get install chromium) — .ci/run does this",
)
def test_every_page_loads_offline_without_console_errors_or_requests(demo_report):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    results, out = demo_report
    pages = sorted(out.glob("*.html"))
    assert len(pages) == len(results) + 1  # + index.html
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            for page_path in pages:
                page = browser.new_page()
                requests, problems = [], []
                page.on("request", lambda r: requests.append(r.url))
                page.on(
                    "console",
                    lambda m: (
                        problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
                    ),
                )
                page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
                page.on("dialog", lambda d: problems.append(f"dialog (script ran!): {d.message}"))
                page.goto(page_path.as_uri())
                page.wait_for_load_state("load")
                page.screenshot(path=str(page_path.with_suffix(".png")), full_page=False)
                assert requests == [page_path.as_uri()], f"{page_path.name} requested {requests[1:]}"
                assert problems == [], f"{page_path.name}: {problems}"
                # What a reader sees: no missing value spelled out (issue 15 #5), no bidi control
                # or NUL that reorders or hides text (issue 12).
                cells = page.eval_on_selector_all("td, th", "els => els.map(e => e.textContent.trim())")
                spelled = [c for c in cells if c in {"<NA>", "None", "NaN", "nan", "NaT"}]
                assert not spelled, f"{page_path.name}: {spelled[:5]}"
                text = page.inner_text("body")
                assert not [c for c in HIDDEN if c in text], page_path.name
                page.close()
        finally:
            browser.close()
