"""Open every HTML page of the demo audit in headless Chromium at 1440 px, offline, and check what
a reader sees: no network request, no console error, nothing wider than the page, no table row
taller than four lines, numbers formatted for people, the navigation bar, no missing value spelled
out. A full-page screenshot of every page is kept for review (the path is printed): under
$ECR_AUDIT_SCREENSHOTS if set, else reports/test-screenshots/ (git-ignored)."""

import os
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
HIDDEN = "\x00\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH = 1440
MAX_LINES = 4
# What a cell of each kind of column may show (blank is always allowed: a missing value).
FORMATTED = {
    "money": r"-?<?\$[\d,]+\.\d\d",
    "bytes": r"-?[\d,]+(\.\d+)? (B|KiB|MiB|GiB|TiB|PiB)",
    "tb": r"-?[\d,]+(\.\d+)? (B|KiB|MiB|GiB|TiB|PiB)",
    "gb": r"-?[\d,]+(\.\d+)? (B|KiB|MiB|GiB|TiB|PiB)",
    "price": r"\$\d[\d,]*\.\d{2,4}",
    "count": r"-?\d{1,3}(,\d{3})*",
    "date": r"\d{4}-\d\d-\d\d",
    "digest": r"[a-z0-9]+:[0-9a-f]{8}…",
    "bool": r"✓|\?",
    "ratio": r"[\d,]+\.\d\d×",
}
SPELLED = re.compile(r"<NA>|\bNaN\b|\bNaT\b|\bNone\b|\bnan\b")
SCREENSHOTS = Path(
    os.environ.get("ECR_AUDIT_SCREENSHOTS") or Path(__file__).parents[1] / "reports/test-screenshots"
)

# Every table: its box, its width against what it shows, and each row's height with the height of
# four lines of its cells (line height and vertical padding as the page styles them).
MEASURE = """(maxLines) => {
  const W = document.documentElement.clientWidth;
  return [...document.querySelectorAll('table')].map((t, i) => {
    const r = t.getBoundingClientRect();
    const caption = (t.previousElementSibling && t.previousElementSibling.textContent || '').slice(0, 60);
    const rows = [...t.rows].map(tr => {
      const td = tr.cells[0];
      const cs = getComputedStyle(td);
      const lh = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.4;
      const pad = parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom);
      return {h: tr.getBoundingClientRect().height, limit: maxLines * lh + pad + 3, text: tr.innerText.slice(0, 80)};
    });
    return {i, caption, right: r.right, W, scroll: t.scrollWidth, client: t.clientWidth, rows};
  });
}"""
# Cells of formatted tables with the kind of their column (`data-kind` on the header).
CELLS = """() => [...document.querySelectorAll('table.ecr-audit')].flatMap(t => {
  const kinds = [...t.querySelectorAll('thead th')].map(th => th.dataset.kind || '');
  const names = [...t.querySelectorAll('thead th')].map(th => th.title);
  return [...t.querySelectorAll('tbody tr')].flatMap(tr =>
    [...tr.cells].map((td, i) => ({kind: kinds[i], column: names[i], text: td.innerText.trim()})));
})"""


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip(
            "Chromium not found: install Debian's package (apt-get install chromium) — .ci/run does this"
        )
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(
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
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


def _open(browser, page_path: Path):
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "console",
        lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("dialog", lambda d: problems.append(f"dialog (script ran!): {d.message}"))
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, problems


def test_every_page_reads_well_at_1440_px_offline(demo_report, browser, screenshots, capsys):
    results, out = demo_report
    pages = sorted(out.glob("*.html"))
    assert len(pages) == len(results) + 1  # + index.html
    failures = []
    for page_path in pages:
        name = page_path.name
        page, requests, problems = _open(browser, page_path)
        try:
            page.screenshot(path=str(screenshots / f"{page_path.stem}.png"), full_page=True)
            assert requests == [page_path.as_uri()], f"{name} requested {requests[1:]}"
            assert problems == [], f"{name}: {problems}"
            # The navigation bar: every page, the overview first, this page marked.
            links = page.eval_on_selector_all("nav.ecr-nav a", "els => els.map(e => e.getAttribute('href'))")
            current = page.eval_on_selector_all(
                "nav.ecr-nav a.current", "els => els.map(e => e.getAttribute('href'))"
            )
            assert links[:1] == ["index.html"] and set(links) == {p.name for p in pages}, (name, links)
            assert current == [name], (name, current)
            # Nothing wider than the page.
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > WIDTH:
                failures.append(f"{name}: the page is {width} px wide")
            for t in page.evaluate(MEASURE, MAX_LINES):
                if t["right"] > t["W"] + 1 or t["scroll"] > t["client"] + 1:
                    failures.append(f"{name}: table {t['i']} ({t['caption']!r}) overflows: {t}")
                for r in t["rows"]:
                    if r["h"] > r["limit"]:
                        failures.append(
                            f"{name}: table {t['caption']!r}: a row {r['h']:.0f} px tall (limit {r['limit']:.0f}):"
                            f" {r['text']!r}"
                        )
            # Numbers for people in every formatted table.
            for c in page.evaluate(CELLS):
                pattern = FORMATTED.get(c["kind"])
                if pattern and c["text"] and not re.fullmatch(pattern, c["text"]):
                    failures.append(f"{name}: {c['column']} ({c['kind']}) shows {c['text']!r}")
            # What a reader sees: no missing value spelled out (issue 15 #5), no bidi control or
            # NUL that reorders or hides text (issue 12).
            text = page.inner_text("body")
            spelled = SPELLED.findall(text)
            if spelled:
                failures.append(f"{name}: shows {spelled[:5]}")
            assert not [c for c in HIDDEN if c in text], name
        finally:
            page.close()
    with capsys.disabled():
        print(f"\nscreenshots of every page at {WIDTH} px: {screenshots}")
    assert not failures, "\n".join(failures[:40])


def test_headline_money_and_sizes_on_the_index_are_formatted(demo_report, browser):
    results, out = demo_report
    page, _, _ = _open(browser, out / "index.html")
    try:
        tiles = page.eval_on_selector_all(
            ".ecr-headline",
            "els => els.map(e => [e.querySelector('.l').innerText, e.querySelector('.v').innerText])",
        )
    finally:
        page.close()
    assert tiles
    money = [v for label, v in tiles if re.search(r"cost|saving", label, re.I)]
    sizes = [v for label, v in tiles if re.search(r"reclaimable", label, re.I)]
    assert money and all(re.fullmatch(FORMATTED["money"], v) for v in money), money
    assert sizes and all(re.fullmatch(FORMATTED["bytes"], v) for v in sizes), sizes
    counts = [v for label, v in tiles if label in ("Repositories", "Images", "Orphaned images")]
    assert counts and all(re.fullmatch(FORMATTED["count"], v) for v in counts), counts
