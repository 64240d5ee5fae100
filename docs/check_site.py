"""Open the built site in headless Chromium with no network, as a reader offline would.

    python docs/check_site.py [BUILD_DIR]     # default docs/_build/html; needs chromium + chromedriver

Serves the build on 127.0.0.1 and, in a browser that cannot resolve any other host, checks:

- every page: its equations are typeset by MathJax (no raw TeX left), every image loads, and the
  browser fetched nothing from outside 127.0.0.1;
- every internal link (and its #anchor) resolves to a page of the build;
- the search page finds "corruption";
- the layout, at 1280 and 1920 px wide and at a phone's 390 px: no table, code block, equation or
  output is cut off without a scrollbar, no text runs wider than the page's main column, and the
  page does not scroll sideways
  (:data:`LAYOUT`; before the site, a small synthetic page shows that the check catches a wide
  table that does not scroll);

and saves screenshots of the home page and the denoising-autoencoder page in
``BUILD_DIR/../screenshots/``. Exits 1 with one line per problem.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

DOCS = Path(__file__).resolve().parent
SHOTS = {"home": "index.html", "denoising": "auto_tutorials/plot_4_denoising.html"}
WIDTHS = (1280, 1920, 390)   # two desktop windows and a phone


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])


def parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def check_links(root: Path, pages: list[Path]) -> list[str]:
    """Every relative link of every page: its file exists, and its #anchor is an id there."""
    problems, cache = [], {}
    for page in pages:
        for href in parse(page).hrefs:
            if urlparse(href).scheme or href.startswith(("//", "mailto:")):
                continue
            target, frag = urldefrag(href)
            dest = (page.parent / unquote(target)).resolve() if target else page
            if dest.is_dir():
                dest = dest / "index.html"
            rel = page.relative_to(root)
            if not dest.is_file():
                problems.append(f"{rel}: link {href} leads to no file")
            elif frag and dest.suffix == ".html":
                ids = cache.setdefault(dest, parse(dest).ids)
                if unquote(frag) not in ids:
                    problems.append(f"{rel}: link {href} has no #{frag} in {dest.relative_to(root)}")
    return problems


def serve(root: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1800", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        opts.add_argument(arg)
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary:
        opts.binary_location = binary
    driver_path = shutil.which("chromedriver")
    service = Service(driver_path) if driver_path else Service()
    return webdriver.Chrome(options=opts, service=service)


# Waits for MathJax (if the page loads it) to finish, then reports what a reader would see.
PAGE_STATE = """
const done = arguments[arguments.length - 1];
const report = () => {
  const maths = [...document.querySelectorAll('.math, span.math, div.math')];
  const raw = maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.trim().slice(0, 60));
  const imgs = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  const outside = performance.getEntriesByType('resource').map(r => r.name)
      .filter(n => !n.startsWith(location.origin) && !n.startsWith('data:') && !n.startsWith('blob:'));
  done({maths: maths.length, raw: raw, images: document.images.length, broken: imgs, outside: outside});
};
const waitImages = () => Promise.all([...document.images].map(i => i.complete ? null :
    new Promise(r => { i.onload = r; i.onerror = r; })));
// window.MathJax is the page's configuration until MathJax itself has loaded: wait for its startup (30 s at most)
const typeset = new Promise(resolve => {
  const t0 = Date.now();
  const poll = () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) return MathJax.startup.promise.then(resolve, resolve);
    if (!document.querySelector('.math') || Date.now() - t0 > 30000) return resolve();
    setTimeout(poll, 50);
  };
  poll();
});
Promise.all([typeset, waitImages()]).then(report, report);
"""


# What a reader could not see at the window's current width: one line per element whose content is cut
# off. Within the page's main column (the theme's article; the body on a page without one):
# - a table, code block, equation or figure whose content is wider than its box (scrollWidth >
#   clientWidth) must scroll sideways itself or inside an ancestor that does (overflow-x auto or scroll);
# - no element may reach past the main column's edges unless an ancestor inside the column scrolls it;
# - and the page as a whole (header and sidebars included) is no wider than the window.
LAYOUT = """
const main = document.querySelector('article.bd-article') || document.body;
const box = main.getBoundingClientRect();
const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
const scroller = el => {   // the nearest ancestor (or el itself) inside the main column that scrolls sideways
  for (let a = el; a && a !== main.parentElement; a = a.parentElement) if (scrolls(a)) return a;
  return null;
};
const visible = el => {   // what a reader sees: not hidden, not see-through, not MathJax's text for screen readers
  const r = el.getBoundingClientRect(), st = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.opacity !== '0' &&
         !el.closest('mjx-assistive-mml');
};
const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/)[0] : '');
const what = el => name(el) + ' "' + el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 50) + '"';
const problems = [];
const boxes = main.querySelectorAll('table, pre, div.math, mjx-container[display="true"], div.highlight, ' +
                                    'div.sphx-glr-script-out, img, figure');
for (const el of boxes) {
  if (!visible(el) || el.scrollWidth <= el.clientWidth + 1 || scroller(el)) continue;
  problems.push(`${what(el)}: content ${el.scrollWidth} px wide in a box of ${el.clientWidth} px, no scrollbar`);
}
const seen = new Set();
for (const el of main.querySelectorAll('*')) {
  if (!visible(el)) continue;
  const r = el.getBoundingClientRect();
  if (r.right <= box.right + 1 && r.left >= box.left - 1) continue;
  const s = scroller(el.parentElement);
  if (s && s !== el) { const sr = s.getBoundingClientRect(); if (sr.right <= box.right + 1 && sr.left >= box.left - 1) continue; }
  let top = el;   // report the outermost element that sticks out, once
  while (top.parentElement && top.parentElement !== main && top.parentElement.getBoundingClientRect().right > box.right + 1) top = top.parentElement;
  if (seen.has(top)) continue;
  seen.add(top);
  problems.push(`${what(top)}: reaches ${Math.round(r.right - box.right)} px past the main column (${Math.round(box.width)} px)`);
}
const page = document.documentElement;
if (page.scrollWidth > page.clientWidth + 1) {   // the page itself scrolls sideways: name what sticks out
  const out = [...document.body.querySelectorAll('*')].filter(el => visible(el) && !main.contains(el) &&
      el.getBoundingClientRect().right > page.clientWidth + 1 && !scroller(el.parentElement));
  problems.push(`the page is ${page.scrollWidth - page.clientWidth} px wider than the window` +
                (out.length ? `: ${what(out[0])} reaches past it` : ''));
}
return problems;
"""


def check_layout(driver, widths=WIDTHS) -> list[str]:
    """The :data:`LAYOUT` problems of the page the browser shows, at each window width."""
    problems = []
    for width in widths:
        driver.set_window_size(width, 1000)
        problems += [f"at {width} px: {p}" for p in driver.execute_script(LAYOUT)]
    driver.set_window_size(1400, 1800)
    return problems


# A wide table in a box that does not scroll must be caught; the same table in a scrolling box must not.
SELF_TEST = """<!doctype html><html><head><style>body {{ margin: 0 }} article {{ width: 600px }}
.clip {{ overflow-x: hidden }} .scroll {{ overflow-x: auto }} td {{ white-space: nowrap }}</style></head>
<body><article class="bd-article"><p>text</p><div class="{box}"><table><tr><td>{cells}</td></tr></table></div>
</article></body></html>"""


def self_test(driver, root: Path, base: str) -> list[str]:
    """Check that :data:`LAYOUT` flags a synthetic page with a wide table that does not scroll, and passes it
    when the table scrolls in its box; the pages are written to ``root`` and removed."""
    problems = []
    cells = "</td><td>".join(f"column {i} of a wide table" for i in range(12))
    cases = (("clip", "that hides its overflow", True), ("", "with no overflow setting", True),
             ("scroll", "that scrolls", False))
    for box, described, expect in cases:
        page = root / f"_layout_self_test_{box or 'plain'}.html"
        page.write_text(SELF_TEST.format(box=box, cells=cells), encoding="utf-8")
        try:
            driver.get(urljoin(base, page.name))
            found = check_layout(driver, widths=(1280,))
        finally:
            page.unlink()
        if bool(found) != expect:
            problems.append(f"layout self-test: a wide table in a box {described} "
                            f"{'was not flagged' if expect else 'was flagged: ' + '; '.join(found)}")
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve() if argv else DOCS / "_build" / "html"
    if not (root / "index.html").is_file():
        print(f"error: no built site in {root}: run python -m sphinx -W -b html docs docs/_build/html", file=sys.stderr)
        return 2
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    problems = check_links(root, pages)
    server, base = serve(root)
    driver = browser()
    driver.set_script_timeout(60)
    typeset = 0
    try:
        problems += self_test(driver, root, base)
        for page in pages:
            rel = page.relative_to(root).as_posix()
            driver.get(urljoin(base, rel))
            state = driver.execute_async_script(PAGE_STATE)
            typeset += state["maths"]
            problems += [f"{rel}: equation not typeset: {t!r}" for t in state["raw"]]
            problems += [f"{rel}: image did not load: {src}" for src in state["broken"]]
            problems += [f"{rel}: fetched from outside the site: {u}" for u in state["outside"]]
            problems += [f"{rel}: {p}" for p in check_layout(driver)]
        driver.get(urljoin(base, "search.html?q=corruption"))
        deadline, found = time.time() + 30, 0
        while time.time() < deadline and not found:
            found = driver.execute_script("return document.querySelectorAll('#search-results li').length")
            time.sleep(0.25)
        if not found:
            problems.append("search.html: searching for 'corruption' found nothing")
        shots = root.parent / "screenshots"
        shots.mkdir(exist_ok=True)
        for name, rel in SHOTS.items():
            if not (root / rel).is_file():
                problems.append(f"{rel}: missing, no screenshot")
                continue
            driver.get(urljoin(base, rel))
            driver.execute_async_script(PAGE_STATE)
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1400, min(max(height, 900), 12000))
            driver.save_screenshot(str(shots / f"{name}.png"))
            driver.set_window_size(1400, 1800)
    finally:
        driver.quit()
        server.shutdown()
    if not typeset:
        problems.append("no page has a typeset equation: the tutorial's maths did not render")
    for p in problems:
        print(p)
    print(f"{len(pages)} pages, {typeset} equations typeset, search found {found} result(s) for 'corruption'; "
          f"{len(problems)} problem(s); screenshots in {root.parent / 'screenshots'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
