"""The Chinese edition: complete catalogues, the same numbers and outputs, a link each way.

The catalogues (locale/zh_CN/LC_MESSAGES/*.po) must be current with the English source and fully
translated; each Chinese page (_build/html/zh/) must show the numbers, code, outputs and figures
of its English page, in Chinese prose, and link to it (and the English page back). The browser's
view of the Chinese site is in test_site.py.
"""

import collections
import hashlib
import html
import re

import pytest
from books import ROOT

from onebyone.tools import book, check_messages, kit, translation

PAGES = book.toc_pages(ROOT)
NOTEBOOK_PAGES = [docname for docname, source in PAGES if source.suffix == ".ipynb"]
CATALOGUES = translation.catalogues(ROOT)
HTML = ROOT / "_build" / "html"
ZH = HTML / translation.EDITION
CJK = re.compile(r"[\u4e00-\u9fff]")
# A number as a reader sees it: 1,234 / 0.25 / 3 (a digit run, with its separators)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
GLUE_ROLE = re.compile(r"\{glue(?::\w*)?\}`[^`]*`")  # {glue}`key`, {glue:text}`key:.1f`


def article(path):
    """The page's own content (no navigation, no header): the HTML of its <article>."""
    raw = path.read_text(encoding="utf-8")
    found = re.search(r"<article\b.*?</article>", raw, re.S)
    assert found, f"{path} has no <article>"
    return found.group(0)


def text_of(fragment):
    """Visible text of an HTML fragment, spaces folded."""
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def untranslated_blocks(path):
    """The page's paragraphs, list items, headings and captions that hold English words
    (three or more) and no Chinese character: prose a Chinese reader would meet in English.
    Code, outputs and math are left out; quoted titles inside Chinese prose are fine."""
    body = re.sub(r'<div class="cell_output.*?</div>\s*</div>', " ", article(path), flags=re.S)
    body = re.sub(r'<(div|span) class="[^"]*\bmath\b[^"]*"[^>]*>.*?</\1>', " ", body, flags=re.S)
    body = re.sub(r"<(pre|code|script|style)\b.*?</\1>", " ", body, flags=re.S)
    blocks = [text_of(m.group(2)) for m in re.finditer(
        r"<(p|li|h[1-6]|figcaption|summary)\b[^>]*>(.*?)</\1>", body, re.S)]
    return [b for b in blocks if not CJK.search(b) and len(re.findall(r"[A-Za-z]{2,}", b)) >= 3
            and b.removesuffix(" #") not in KEPT_IN_ENGLISH]


def kept_in_english():
    """Short messages a catalogue deliberately keeps in English (msgstr = msgid): names such as
    the course's title, the paper's "Network in Network", the glossary's English terms. A whole
    paragraph copied into its msgstr still counts as untranslated."""
    from babel.messages.pofile import read_po

    kept = set()
    for po in CATALOGUES.values():
        with open(po, "rb") as handle:
            kept |= {m.id for m in read_po(handle)
                     if m.id and m.string == m.id and len(m.id.split()) <= 5}
    return kept


KEPT_IN_ENGLISH = kept_in_english()


def visible_prose(path):
    """The page's text without code: where Markdown that failed to parse would show."""
    return text_of(re.sub(r"<(pre|code)\b.*?</\1>", " ", article(path), flags=re.S))


def numbers(path):
    """Every number a reader sees on the page, with how often (math and code included)."""
    return collections.Counter(NUMBER.findall(text_of(article(path))))


def test_there_is_a_catalogue_for_every_page():
    assert sorted(CATALOGUES) == sorted(docname for docname, _ in PAGES)


@pytest.mark.parametrize("docname", sorted(CATALOGUES))
def test_catalogue_is_complete(docname):
    """No entry untranslated, none fuzzy (an English paragraph changed since its translation)."""
    state = translation.catalogue_state(CATALOGUES[docname])
    assert state.total > 0
    problems = [f"untranslated: {m[:90]!r}" for m in state.untranslated]
    problems += [f"fuzzy: {m[:90]!r}" for m in state.fuzzy]
    assert not problems, (f"{docname}: {len(problems)} of {state.total} entries to do "
                          f"(edit {state.path.relative_to(ROOT)}):\n" + "\n".join(problems[:20]))


@pytest.mark.parametrize("docname", sorted(CATALOGUES))
def test_translations_keep_every_number(docname):
    """Each translation has the numbers of its English paragraph (glued numbers come from the
    build, not from the catalogue: their roles are left out on both sides)."""
    from babel.messages.pofile import read_po

    def counted(text):
        return collections.Counter(NUMBER.findall(GLUE_ROLE.sub("", text)))

    with open(CATALOGUES[docname], "rb") as handle:
        entries = [m for m in read_po(handle) if m.id and m.string and not m.fuzzy]
    wrong = [f"{m.id[:70]!r}: English only {dict(counted(m.id) - counted(m.string))}, "
             f"Chinese only {dict(counted(m.string) - counted(m.id))}"
             for m in entries if counted(m.id) != counted(m.string)]
    assert not wrong, f"{docname}:\n" + "\n".join(wrong)


ROLE = re.compile(r"\{[\w:]+\}`[^`]*`")  # {glue:text}`key:.1f`, {ref}`title <label>`
KEPT_AS_WRITTEN = {
    "glued value": lambda text: GLUE_ROLE.findall(text),
    "reference": lambda text: re.findall(r"\{(?:ref|doc|numref|eq|term)\}`(?:[^`<]*<)?([^`>]+)>?`",
                                         text),
    "code": lambda text: re.findall(r"`([^`]+)`", ROLE.sub("", text)),
    "formula": lambda text: re.findall(r"\$[^$]+\$", text),
    "link": lambda text: re.findall(r"\]\(([^)\s]+)\)", text),
}


PASSED = re.compile(r"\u2713 (\w+): (\d+) public checks? passed")  # a check's sample line


def chinese_passed_line():
    """The checks' catalogue's Chinese "✓ {item}: {count} public checks passed"."""
    from babel.messages.pofile import read_po

    with open(check_messages.catalogue_path("zh_CN"), "rb") as handle:
        return next(m for m in read_po(handle) if isinstance(m.id, tuple)
                    and "public" in m.id[0]).string[0]


def as_a_chinese_notebook_prints_it(span):
    """A code span as the Chinese text must hold it: the one span a translation changes is a
    check's ✓ line, which a Chinese notebook prints in Chinese (its checks speak Chinese)."""
    found = PASSED.fullmatch(span)
    return chinese_passed_line().format(item=found[1], count=found[2]) if found else span


@pytest.mark.parametrize("docname", sorted(CATALOGUES))
def test_translations_keep_values_references_code_and_formulas(docname):
    """What a translation must not touch: each glued value (the numbers test leaves those out),
    each reference's target, inline code, formula and link address of its English paragraph."""
    from babel.messages.pofile import read_po

    with open(CATALOGUES[docname], "rb") as handle:
        entries = [m for m in read_po(handle) if m.id and m.string and not m.fuzzy]
    wrong = []
    for m in entries:
        for kind, parts in KEPT_AS_WRITTEN.items():
            english = parts(m.id)
            if kind == "code":
                english = map(as_a_chinese_notebook_prints_it, english)
            english, chinese = collections.Counter(english), collections.Counter(parts(m.string))
            if english != chinese:
                wrong.append(f"{m.id[:60]!r}: {kind} English only {dict(english - chinese)}, "
                             f"Chinese only {dict(chinese - english)}")
    assert not wrong, f"{docname}:\n" + "\n".join(wrong)

@pytest.mark.parametrize("docname", sorted(CATALOGUES))
def test_translations_read_as_the_same_kind_of_text(docname):
    """A translation starting "2. " is a numbered list to MyST, and Sphinx then silently keeps
    the English heading or paragraph; "2\\. " keeps it a heading."""
    from babel.messages.pofile import read_po

    with open(CATALOGUES[docname], "rb") as handle:
        lists = [m.id for m in read_po(handle) if m.id and re.match(r"\d+\. ", m.string or "")]
    assert not lists, f"{docname}: write the number as '2\\. ' in these translations: {lists}"


def test_catalogues_are_current_with_the_english_source():
    """Every message of today's English pages is in its catalogue (else: `make translations`)."""
    from babel.messages.pofile import read_po

    done = translation.extract(ROOT, quiet=True)
    assert done.returncode == 0, done.check_output[-3000:]
    stale = []
    for docname, po in CATALOGUES.items():
        with open(ROOT / "_build/gettext" / f"{docname}.pot", "rb") as pot, open(po, "rb") as cat:
            wanted = {m.id for m in read_po(pot) if m.id}
            have = {m.id for m in read_po(cat) if m.id}
        stale += [f"{docname}: {m[:80]!r}" for m in sorted(wanted - have)]
    assert not stale, "run `make translations`, then translate:\n" + "\n".join(stale[:20])


@pytest.mark.parametrize("docname, source", PAGES, ids=[d for d, _ in PAGES])
def test_chinese_page_says_what_the_english_page_computes(built_book, docname, source):
    """Chinese prose; the same numbers, code, outputs and figures as the English page."""
    english, chinese = built_book / f"{docname}.html", ZH / f"{docname}.html"
    assert chinese.is_file(), f"no Chinese page for {docname}"
    assert '<html lang="zh-CN"' in chinese.read_text(encoding="utf-8")
    english_left = untranslated_blocks(chinese)
    assert not english_left, f"{docname}: English prose on the Chinese page:\n" + "\n".join(
        repr(block[:120]) for block in english_left[:10])
    stray = [markup for markup in ("**", "{glue", "{ref}", "{term}", "{doc}", "](")
             if visible_prose(chinese).count(markup) > visible_prose(english).count(markup)]
    assert not stray, f"{docname}: markup shown as text on the Chinese page: {stray}"
    only_en = numbers(english) - numbers(chinese)
    only_zh = numbers(chinese) - numbers(english)
    assert not only_en and not only_zh, (
        f"{docname}: numbers only on the English page {dict(only_en)}, "
        f"only on the Chinese page {dict(only_zh)}")
    blocks = [re.findall(r"<pre\b.*?</pre>", article(p), re.S) for p in (english, chinese)]
    assert blocks[0] == blocks[1], f"{docname}: code or outputs differ between the editions"
    images = [[_image_digest(p, src) for src in re.findall(r'<img[^>]*\bsrc="([^"]+)"',
                                                             article(p))]
              for p in (english, chinese)]
    assert images[0] == images[1], f"{docname}: the editions show different figures"


def _image_digest(page, src):
    return hashlib.sha256((page.parent / src).read_bytes()).hexdigest()


@pytest.mark.parametrize("docname, source", PAGES, ids=[d for d, _ in PAGES])
def test_each_page_links_to_its_counterpart(built_book, docname, source):
    for page, other in ((built_book / f"{docname}.html", ZH / f"{docname}.html"),
                        (ZH / f"{docname}.html", built_book / f"{docname}.html")):
        switch = re.search(r'<a class="[^"]*onebyone-language[^"]*" href="([^"]+)"',
                           page.read_text(encoding="utf-8"))
        assert switch, f"{page.relative_to(HTML)} has no language switch"
        assert (page.parent / switch.group(1)).resolve() == other.resolve()


def published_page_links(page, site):
    """The page's links to pages of the book at the site's published address (html.baseurl)."""
    links = re.findall(rf'href="({re.escape(site)}/[^"#]*\.html)[^"]*"', article(page))
    return sorted(set(links))


@pytest.mark.parametrize("docname", NOTEBOOK_PAGES)
def test_exercise_pages_link_to_the_chapters_of_their_own_edition(built_book, docname):
    """A released notebook links to its chapter at the published address; on the Chinese
    exercise page that link goes to the Chinese chapter, on the English page to the English."""
    site = kit.site_address(ROOT)
    for page, edition in ((built_book / f"{docname}.html", site),
                          (ZH / f"{docname}.html", f"{site}/{translation.EDITION}")):
        links = published_page_links(page, site)
        assert links, f"{page.relative_to(HTML)} links to no chapter at {site}"
        wrong = [link for link in links
                 if not re.fullmatch(rf"{re.escape(edition)}/chapters/[\w-]+\.html", link)]
        assert not wrong, f"{page.relative_to(HTML)} links outside its edition {edition}: {wrong}"
        missing = [link for link in links if not (HTML / link[len(site) + 1:]).is_file()]
        assert not missing, f"{page.relative_to(HTML)} links to pages not built: {missing}"


@pytest.mark.parametrize("docname, source", PAGES, ids=[d for d, _ in PAGES])
def test_each_edition_gives_its_own_address(built_book, docname, source):
    """A page's canonical address (search engines index that one) is its own edition's page:
    a Chinese page naming the English one as canonical would be dropped as a duplicate."""
    site = kit.site_address(ROOT)
    for page, address in ((built_book / f"{docname}.html", f"{site}/{docname}.html"),
                          (ZH / f"{docname}.html", f"{site}/{translation.EDITION}/{docname}.html")):
        canonical = re.findall(r'<link rel="canonical" href="([^"]+)"', page.read_text("utf-8"))
        assert canonical == [address], f"{page.relative_to(HTML)}: canonical {canonical}"

def test_chinese_alt_text_on_chinese_pages(built_book):
    """Figures drawn by code and Markdown images alike: the alt text is translated."""
    seen = 0
    for docname, _ in PAGES:
        for alt in re.findall(r'<img[^>]*\balt="([^"]*)"', article(ZH / f"{docname}.html")):
            seen += 1
            assert CJK.search(html.unescape(alt)), f"{docname}: English alt text {alt[:80]!r}"
    assert seen


def test_the_chinese_build_runs_no_chapter_again(book_build):
    """A fresh Chinese build (no Sphinx environment of its own) executes nothing: it reads the
    English build's execution cache, and leaves the cache as it was. When the session's build
    made the Chinese edition from scratch (a fresh clone, CI), its log is the evidence; else the
    Chinese environment is removed and the edition built again here."""
    import shutil

    from jupyter_cache import get_cache

    cache = get_cache(ROOT / "_build" / translation.EXECUTION_CACHE)
    before = {(r.pk, r.hashkey, r.created) for r in cache.list_cache_records()}
    if book_build.fresh_chinese:
        log = book_build.chinese_output
    else:
        shutil.rmtree(ROOT / "_build" / f".doctrees-{translation.EDITION}")
        done = translation.build_chinese(ROOT, quiet=True)
        assert done.returncode == 0, done.check_output[-3000:]
        log = done.check_output
        assert {(r.pk, r.hashkey, r.created) for r in cache.list_cache_records()} == before
    executed, _ = book.executed_pages(ROOT)
    assert executed
    for source in executed:
        assert f"{source}: Using cached notebook" in log, source
    assert "Executing notebook" not in log
    # Every executed page has its record in the cache the Chinese build read.
    assert len(before) >= len(executed)
