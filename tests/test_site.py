"""The website as readers get it: every page of the table of contents in a real browser, offline.

Needs Debian's Chromium (`apt-get install chromium`): without it these tests skip on a student's
machine and fail under CI (CI=true). Screenshots of every page go to _build/screenshots/.
The second half builds a small book with one broken page per kind of problem and shows that the
same checks catch each of them (and pass on a page that is fine).
"""

import html
import json
import re
import shutil

import pytest
from books import ROOT, minimal_book
from browser import SiteChecker, chromium_or_skip, serve

from onebyone.tools import book, kit, translation

PAGES = book.toc_pages(ROOT)
SCREENSHOTS = ROOT / "_build" / "screenshots"
# TeX in a page's prose: $...$, $$, {math}, \begin{...}
CHINESE = r"[\u4e00-\u9fff]"
SOURCE_MATH = re.compile(r"\$[^$\n]+\$|\$\$|\{math\}|\\begin\{")


@pytest.fixture(scope="session")
def browser(chromium):
    return chromium  # conftest's, shared with the other browser tests


@pytest.fixture(scope="session")
def site(browser, built_book):
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    with serve(built_book) as base:
        yield SiteChecker(browser, base, screenshots=SCREENSHOTS, published=kit.site_address(ROOT))


@pytest.fixture(scope="session")
def site_zh(browser, built_book):
    """The Chinese edition, _build/html/zh/, served with the English site around it."""
    with serve(built_book) as base:
        yield SiteChecker(browser, base + f"{translation.EDITION}/",
                          screenshots=SCREENSHOTS / translation.EDITION,
                          published=kit.site_address(ROOT) + f"/{translation.EDITION}")


def prose(source):
    """A page's text without its code: markdown cells of a notebook, or MyST outside fences."""
    text = source.read_text(encoding="utf-8")
    if source.suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)  # inline code (`$HOME`) is not math


def visible_text(html_path, skip_code=False):
    raw = html_path.read_text(encoding="utf-8")
    article = re.search(r"<article\b.*?</article>", raw, re.S)  # the page, without the navigation
    raw = article.group(0) if article else raw
    raw = re.sub(r"<(script|style|pre)\b.*?</\1>" if skip_code else r"<(script|style)\b.*?</\1>",
                 " ", raw, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw)))


@pytest.mark.parametrize("docname, source", PAGES, ids=[d for d, _ in PAGES])
def test_page_works_offline_in_a_browser(site, docname, source):
    """Loads clean, math typeset, images with alt text, links resolve, no serious axe finding;
    an exercise page shows its notebook's code cells and offers the notebook for download."""
    problems = site.check_page(docname, expect_math=bool(SOURCE_MATH.search(prose(source))),
                               notebook=source if source.suffix == ".ipynb" else None)
    assert not problems, f"{docname}:\n" + "\n".join(problems)
    assert (SCREENSHOTS / f"{docname.replace('/', '--')}.png").is_file()


def search_words(html_folder):
    """What to search for: 'bottleneck' once a page mentions it, and a word of a chapter title.

    Returns {word: docnames whose page must be among the hits}.
    """
    words = {}
    texts = {d: visible_text(html_folder / f"{d}.html", skip_code=True) for d, _ in PAGES}
    mentions = [d for d, text in texts.items() if re.search(r"\bbottleneck", text, re.I)]
    if mentions:
        words["bottleneck"] = mentions
    first_chapter = PAGES[1][0] if len(PAGES) > 1 else PAGES[0][0]
    title = re.search(r"<h1[^>]*>(.*?)</h1>", (html_folder / f"{first_chapter}.html").read_text(
        encoding="utf-8"), re.S).group(1)
    title_words = re.findall(r"[A-Za-z]{5,}", html.unescape(re.sub(r"<[^>]+>", " ", title)))
    words.setdefault(max(title_words, key=len).lower(), []).append(first_chapter)
    return words


def test_search_finds_what_the_pages_say(site, built_book):
    words = search_words(built_book)
    assert words
    for word, expected in words.items():
        hits, problems = site.search(word)
        assert not problems, problems
        assert hits, f"searching {word!r} found nothing"
        found = {hit.removeprefix(site.base).removesuffix(".html") for hit in hits}
        missing = [d for d in expected if d not in found]
        # Sphinx lists at most the best matches; every page that says the word must be reachable.
        assert not missing, f"searching {word!r} did not find {missing} (found {sorted(found)})"


@pytest.mark.parametrize("docname, source", PAGES, ids=[d for d, _ in PAGES])
def test_chinese_page_works_offline_in_a_browser(site_zh, docname, source):
    """The same checks on the Chinese edition, and every image's alt text in Chinese; an
    exercise page offers the Chinese notebook. Its figures are the English edition's files
    (test_i18n.py), so dark mode is checked there."""
    from onebyone.tools.chinese_notebooks import chinese_path

    problems = site_zh.check_page(docname, expect_math=bool(SOURCE_MATH.search(prose(source))),
                                  alt_script=CHINESE, dark_figures=False,
                                  notebook=(chinese_path(source) if source.suffix == ".ipynb"
                                            else None))
    assert not problems, f"zh/{docname}:\n" + "\n".join(problems)


def chinese_search_words(html_folder):
    """Glossary terms of the notes that the Chinese pages use: {word: docnames that say it}."""
    words = {}
    for word in ("全局平均池化", "瓶颈层", "逐点卷积"):
        pages = [d for d, _ in PAGES if word in visible_text(
            html_folder / translation.EDITION / f"{d}.html", skip_code=True)]
        if pages:
            words[word] = pages
    return words


def test_chinese_search_finds_chinese_words(site_zh, built_book):
    """Sphinx's Chinese search (jieba splits the words, the notes' terms kept whole)."""
    words = chinese_search_words(built_book)
    assert words, "the Chinese pages use none of the notes' terms"
    for word, expected in words.items():
        hits, problems = site_zh.search(word)
        assert not problems, problems
        found = {hit.removeprefix(site_zh.base).removesuffix(".html") for hit in hits}
        missing = [d for d in expected if d not in found]
        assert not missing, f"searching {word!r} did not find {missing} (found {sorted(found)})"


def test_without_chromium_the_browser_tests_skip_or_fail_under_ci(monkeypatch, tmp_path):
    import browser as browser_module

    monkeypatch.setattr(browser_module, "CHROMIUM", tmp_path / "no-chromium-here")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        chromium_or_skip()


# --- The checks catch what they should: a small book with one broken page per kind of problem ---

SQUARE_ALT = "A blue square on a transparent background, drawn for this test"
BROKEN_SITE = {
    "good": ("Inline math $y = W x$ and a display equation:\n\n$$\nz = \\sum_i w_i x_i\n$$\n\n"
             "```{math}\n:label: eq-cost\nc = h w c_{in} c_{out}\n```\n\n"
             ":::{note}\nEquation {eq}`eq-cost` counts multiplications, `$5` is code.\n:::\n\n"
             f"![{SQUARE_ALT}](square.png)\n\nSee the {{ref}}`section with a typo <typo>`.\n"),
    "bad-equation": ("(typo)=\n## A section\n\nAn equation with a missing brace, $\\frac{1}{2$.\n\n"
                     "An equation with a misspelt command, $\\farc{1}{2}$.\n"),
    "missing-image": '<img src="nowhere.png" alt="A diagram that is not on the server">\n',
    "no-alt-text": "![](square.png)\n",
    "unlabelled-button": '<button class="mystery"></button>\n\nA button with no name.\n',
    "broken-links": ('<a href="good.html#no-such-anchor">a stale anchor</a> and '
                     '<a href="gone.html">a page that was removed</a>.\n'),
}


def write_square(path):
    """A 60×40 PNG: transparent margins around an Okabe–Ito blue square."""
    from PIL import Image

    image = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
    image.paste((0, 114, 178, 255), (20, 10, 40, 30))
    image.save(path)


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory):
    """The small book, built strictly (raw-HTML problems pass the build; the browser sees them)."""
    root = minimal_book(tmp_path_factory.mktemp("broken-site"), pages=BROKEN_SITE)
    write_square(root / "chapters/square.png")
    done = book.build(root, quiet=True)
    assert done.returncode == 0, done.check_output[-3000:]
    site = root / "_build/html"
    # A copy of the good page with a script from a CDN added after the build.
    good = (site / "chapters/good.html").read_text(encoding="utf-8")
    (site / "chapters/external-script.html").write_text(good.replace(
        "</head>", '<script src="https://cdn.example.org/widget.js"></script></head>'))
    return site


@pytest.fixture(scope="module")
def broken_checker(browser, broken_site):
    with serve(broken_site) as base:
        yield SiteChecker(browser, base)


@pytest.mark.parametrize("docname, expected", [
    ("chapters/bad-equation", ["math not typeset", "frac{1}{2", "raw TeX left in the visible text",
                               "math typeset with an error", "Undefined control sequence"]),
    ("chapters/missing-image", ["image does not load", "HTTP 404"]),
    ("chapters/no-alt-text", ["alt text"]),
    ("chapters/unlabelled-button", ["axe button-name (critical)"]),
    ("chapters/broken-links", ["broken anchor", "broken link", "gone.html"]),
    ("chapters/external-script",
     ["tried to load from the network: https://cdn.example.org/widget.js"]),
])
def test_each_broken_page_is_caught(broken_checker, docname, expected):
    problems = "\n".join(broken_checker.check_page(docname))
    for words in expected:
        assert words in problems, f"{docname}: expected {words!r} among:\n{problems}"


def test_the_good_page_passes_every_check(broken_checker):
    assert broken_checker.check_page("chapters/good", expect_math=True) == []


def test_math_without_mathjax_is_caught(browser, broken_site, tmp_path):
    """As if MathJax came from an unreachable CDN: the equations stay raw TeX."""
    copy = tmp_path / "html"
    shutil.copytree(broken_site, copy, ignore=shutil.ignore_patterns("mathjax"))
    with serve(copy) as base:
        problems = "\n".join(SiteChecker(browser, base).check_page("chapters/good"))
    assert "math not typeset" in problems and "raw TeX left in the visible text" in problems


def test_figures_without_the_dark_mode_backdrop_are_caught(browser, broken_site, tmp_path):
    """Without our CSS the theme dims figures and a transparent one shows the dark page."""
    copy = tmp_path / "html"
    shutil.copytree(broken_site, copy)
    (copy / "_static/onebyone.css").write_text("/* the course's CSS, removed */\n")
    with serve(copy) as base:
        problems = "\n".join(SiteChecker(browser, base).check_page("chapters/good"))
    assert "dark mode: figure 1 is not on a light backdrop" in problems
