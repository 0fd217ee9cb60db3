"""Check a built site the way a reader meets it: in a real browser (Chromium), with no network.

`SiteChecker.check_page` opens one page of `_build/html`, served from 127.0.0.1, and returns a
list of problems (empty when the page is fine): console errors, failed requests, any request to
another host (blocked, and reported), math left untypeset or typeset with errors, images that do
not load or lack alt text, internal links (and their #anchors) that do not resolve, serious or
critical axe-core violations, and figures that lose their light backdrop in dark mode. The tests
run it on every page of the table of contents, and on broken copies of a small book, to show each
check can fail.
"""

import contextlib
import functools
import http.server
import io
import json
import os
import pathlib
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

CHROMIUM = pathlib.Path(os.environ.get("ONEBYONE_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--disable-default-apps", "--disable-extensions"]
LOCAL_HOST = "127.0.0.1"
SERIOUS = ("serious", "critical")
# Raw TeX that MathJax should have replaced: $$, \( \) \[ \], or $...$ on one line.
RAW_MATH = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|(?<![\w$])\$[^\s$][^$\n]{0,200}\$")
# axe-core rules switched off, with the reason. Keep this empty unless a violation comes from the
# theme and cannot be fixed from our own CSS/JS; each entry must say why.
AXE_RULES_OFF = {}


def chromium_or_skip():
    """Debian's Chromium, or skip (on a student's machine) / fail (under CI) when it is missing."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    reason = (f"no Chromium at {CHROMIUM}: the browser tests need Debian's chromium "
              "(sudo apt-get install chromium), or ONEBYONE_CHROMIUM=/path/to/chromium")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: the browser tests must run in CI)")
    pytest.skip(reason)


def launch(playwright):
    """A headless Chromium that makes no connection of its own (updates, sync, telemetry)."""
    return playwright.chromium.launch(executable_path=chromium_or_skip(), headless=True,
                                      args=LAUNCH_ARGS)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".ipynb": "application/x-ipynb+json", ".js": "text/javascript",
                      ".woff": "font/woff", ".woff2": "font/woff2"}

    def log_message(self, *args):  # keep pytest's output readable
        pass


@contextlib.contextmanager
def serve(folder):
    """Serve `folder` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def is_local(url):
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == LOCAL_HOST


def anchors_in(html_text):
    """The fragment targets a page defines (id= and name= attributes)."""
    return set(re.findall(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""", html_text))


MATH_STATE = """() => {
  const math = [...document.querySelectorAll('span.math, div.math')];
  const raw = math.filter(m => !m.querySelector('mjx-container'));
  const errors = [...document.querySelectorAll('mjx-merror')].map(
      e => e.getAttribute('data-mjx-error') || e.textContent);
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
      .forEach(e => e.remove());
  return {count: math.length, raw: raw.map(m => m.textContent.slice(0, 80)), errors,
          typeset: document.querySelectorAll('mjx-container').length,
          text: main.textContent, mathjax: !!(window.MathJax && window.MathJax.version)};
}"""

IMAGES = """async () => {
  const images = [...document.querySelectorAll('img')];
  await Promise.all(images.map(i => { i.loading = 'eager'; return i.decode().catch(() => null); }));
  return images.map(i => ({src: i.currentSrc || i.src, alt: i.getAttribute('alt'),
                           width: i.naturalWidth, content: !!i.closest('.bd-content')}));
}"""


def alt_problem(alt, src):
    """Why an image's alt text is not meaningful, or None."""
    alt = (alt or "").strip()
    name = pathlib.PurePosixPath(urllib.parse.urlsplit(src).path).name
    if len(alt) < 10:
        return f"alt text {alt!r} is missing or too short to describe the image"
    if alt == name or re.fullmatch(r"[\w.-]+\.(png|jpe?g|svg|gif|webp)", alt, re.I):
        return f"alt text {alt!r} is a file name"
    return None


class SiteChecker:
    """Checks pages of one served site in one browser; remembers fetched URLs between pages."""

    def __init__(self, browser, base_url, screenshots=None, published=None):
        self.browser, self.base = browser, base_url
        # The address the site is published at (html.baseurl): a downloaded notebook links to the
        # chapters there, and here that site is the one served at `base_url`.
        self.published = published.rstrip("/") + "/" if published else None
        self.screenshots = pathlib.Path(screenshots) if screenshots else None
        self._fetched = {}

    def url(self, docname):
        return urllib.parse.urljoin(self.base, f"{docname}.html")

    def fetch(self, url):
        """(status, text) of a local URL, fetched once."""
        url = urllib.parse.urldefrag(url).url
        if url not in self._fetched:
            try:
                with urllib.request.urlopen(url, timeout=30) as answer:
                    self._fetched[url] = (answer.status, answer.read().decode("utf-8", "replace"))
            except urllib.error.HTTPError as error:
                self._fetched[url] = (error.code, "")
            except urllib.error.URLError:  # nothing serves it (a local address not under test)
                self._fetched[url] = (None, "")
        return self._fetched[url]

    @contextlib.contextmanager
    def open(self, url, dark=False):
        """A fresh page at `url` in its own context; yields (page, problems) and blocks the net."""
        problems = []
        context = self.browser.new_context(viewport={"width": 1280, "height": 900},
                                           color_scheme="dark" if dark else "light")

        def guard(route):
            if is_local(route.request.url):
                route.continue_()
            else:
                problems.append(f"tried to load from the network: {route.request.url}")
                route.abort("blockedbyclient")

        context.route("**/*", guard)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(
            f"console error: {m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: is_local(r.url) and problems.append(
            f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and problems.append(
            f"HTTP {r.status}: {r.url}"))
        try:
            page.goto(url, wait_until="networkidle")
            # MathJax typesets after load: wait for it to finish (if the page has it).
            page.evaluate("async () => { if (window.MathJax && MathJax.startup && "
                          "MathJax.startup.promise) await MathJax.startup.promise; }")
            yield page, problems
        finally:
            context.close()

    def check_page(self, docname, expect_math=False, alt_script=None, notebook=None,
                   dark_figures=True):
        """Every problem a reader would meet on page `docname` (empty list: the page is fine).

        `expect_math`: the page's source has equations, so typeset ones must be on the page.
        `alt_script`: a regular expression every image's alt text must match (the Chinese
        edition's pages pass one for Chinese characters).
        `notebook`: the exercise notebook the page shows; its download is checked too (on the
        same page load).
        `dark_figures`: also look at the figures in the theme's dark mode (a second page load;
        the Chinese edition shows the same image files with the same CSS: test_i18n.py).
        """
        url = self.url(docname)
        with self.open(url) as (page, problems):
            problems += self._math(page, expect_math)
            problems += self._images(page, alt_script)
            problems += self._links(page)
            problems += self._axe(page)
            if notebook is not None:
                problems += self._download(page, notebook)
            figures = page.locator(".bd-content img").count()
            if self.screenshots:
                self.screenshots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=self.screenshots / f"{docname.replace('/', '--')}.png",
                                full_page=True)
        if figures and dark_figures:
            problems += self._dark_figures(url, docname)
        return problems

    def _math(self, page, expect_math):
        state = page.evaluate(MATH_STATE)
        problems = [f"math not typeset: {raw!r}" for raw in state["raw"]]
        if expect_math and not state["typeset"]:
            problems.append("the source has math, but no typeset equation is on the page")
        problems += [f"math typeset with an error: {error!r}" for error in state["errors"]]
        if state["count"] and not state["mathjax"]:
            problems.append("the page has math but MathJax did not load")
        problems += [f"raw TeX left in the visible text: {m.group(0)!r}"
                     for m in RAW_MATH.finditer(state["text"])]
        return problems

    def _images(self, page, alt_script=None):
        problems = []
        for image in page.evaluate(IMAGES):
            if image["width"] == 0:
                problems.append(f"image does not load: {image['src']}")
            why = alt_problem(image["alt"], image["src"])
            if not why and alt_script and not re.search(alt_script, image["alt"] or ""):
                why = f"alt text {image['alt'][:60]!r} is not in the page's language"
            if why:
                problems.append(f"image {image['src']}: {why}")
        return problems

    def _links(self, page):
        problems = []
        hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        for href in sorted(set(hrefs)):
            if self.published and href.startswith(self.published):
                href = urllib.parse.urljoin(self.base, href[len(self.published):])
            parts = urllib.parse.urlsplit(href)
            if parts.scheme not in ("http", "https") or not is_local(href):
                continue  # mailto:, javascript:, and links out (a reader follows those by choice)
            status, text = self.fetch(href)
            if status != 200:
                answer = f"HTTP {status}" if status else "nothing answers there"
                problems.append(f"broken link: {href} ({answer})")
                continue
            fragment = urllib.parse.unquote(parts.fragment)
            if fragment and fragment not in anchors_in(text):
                problems.append(f"broken anchor: {href} (no id {fragment!r} on that page)")
        return problems

    def _axe(self, page):
        from axe_playwright_python.sync_playwright import Axe

        # preload=False: axe would fetch the stylesheets itself and resolve the theme's
        # `@import "../basic.css"` against the page instead of the stylesheet (a 404 no reader
        # meets). Only the orientation-lock rule needs the preloaded CSS; we set no orientation.
        options = {"resultTypes": ["violations"], "preload": False,
                   "rules": {rule: {"enabled": False} for rule in AXE_RULES_OFF}}
        violations = Axe().run(page, options=options).response["violations"]
        return [f"axe {v['id']} ({v['impact']}): {v['help']} at "
                f"{', '.join(str(n['target']) for n in v['nodes'][:3])}"
                for v in violations if v["impact"] in SERIOUS]

    def _dark_figures(self, url, docname):
        """In the theme's dark mode, each content image must sit on a light, unfiltered backdrop."""
        from PIL import Image

        with self.open(url, dark=True) as (page, problems):
            theme = page.evaluate("() => document.documentElement.dataset.theme")
            if theme != "dark":
                return problems + [f"dark mode did not switch the theme (data-theme={theme!r})"]
            images = page.locator(".bd-content img")
            for i in range(images.count()):
                image = images.nth(i)
                image.scroll_into_view_if_needed()
                style = image.evaluate("i => { const s = getComputedStyle(i); "
                                       "return [s.filter, s.backgroundColor]; }")
                shot = Image.open(io.BytesIO(image.screenshot())).convert("L")
                w, h = shot.size
                # 4 px in from each corner: inside the rounded border, on the backdrop or figure
                corners = [shot.getpixel((x, y)) for x in (4, w - 5) for y in (4, h - 5)]
                if style[0] != "none" or min(corners) < 200:
                    problems.append(f"dark mode: figure {i + 1} is not on a light backdrop "
                                    f"(filter {style[0]}, background {style[1]}, "
                                    f"corner grey levels {corners})")
            if self.screenshots and images.count():
                page.screenshot(path=self.screenshots / f"{docname.replace('/', '--')}-dark.png")
        return problems

    def search(self, word):
        """The page URLs the site's search page lists for `word`, and any problems on the way."""
        url = urllib.parse.urljoin(self.base, "search.html?q=" + urllib.parse.quote(word))
        with self.open(url) as (page, problems):
            page.wait_for_function(
                "() => { const s = document.querySelector('#search-results .search-summary');"
                " return s && s.textContent.trim().length > 0; }", timeout=30_000)
            hits = page.evaluate(
                "() => [...document.querySelectorAll('#search-results ul.search li a')]"
                ".map(a => a.href)")
        return sorted({urllib.parse.urldefrag(h).url for h in hits}), problems

    def _download(self, page, source):
        """Problems with the page's .ipynb download: missing, broken, or not the notebook."""
        problems = []
        links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
                              ".filter(h => new URL(h).pathname.endsWith('.ipynb'))")
        cells = page.locator("div.cell").count()
        notebook = json.loads(pathlib.Path(source).read_text(encoding="utf-8"))
        shown = [c for c in notebook["cells"] if c["cell_type"] == "code" and not
                 {"remove-cell", "remove-input"} & set(c.get("metadata", {}).get("tags", []))]
        if cells != len(shown):
            problems.append(f"the page shows {cells} code cells; the notebook has {len(shown)}")
        if not links:
            return problems + ["no download link for the .ipynb"]
        for link in links:
            status, text = self.fetch(link)
            if status != 200:
                problems.append(f"download link {link} answers HTTP {status}")
            elif json.loads(text) != notebook:
                problems.append(f"download link {link} is not the exercise notebook")
        return problems
