"""A translator's round trip on a small book: extract, translate, build, edit the English, update.

The Chinese page shows the translation and the number its code computed (glued, not typed in);
an English edit turns that paragraph's entry fuzzy, and the Chinese page then shows the new
English paragraph instead of a stale translation, until the entry is translated again. A word the
page computes (glued) is translated too, and a word glued before stays in the catalogue when the
page glues another one (a word chosen by a measurement comes and goes between builds).
"""

import html
import re

from babel.messages.pofile import read_po, write_po
from books import minimal_book

from onebyone.tools import book, translation

PROSE = "The answer is {glue:text}`answer` squares."
EDITED = "The answer, computed below, is {glue:text}`answer` squares."
WORD = "It went {glue:text}`mood`."
CHAPTER = (f"{PROSE}\n\n{WORD}\n\n```{{code-cell}} ipython3\n:tags: [remove-cell]\n"
           "from myst_nb import glue\nglue('answer', 6 * 7, display=False)\n"
           "glue('mood', 'fine', display=False)\n```\n")
CHINESE = {"Demo": "演示", "Chapters": "章节", "A test book": "一本测试用的书",
           PROSE: "答案是 {glue:text}`answer` 个正方形。", WORD: "进展{glue:text}`mood`。",
           "fine": "顺利"}
RETRANSLATED = "下面算出的答案是 {glue:text}`answer` 个正方形。"


def page_text(path):
    raw = re.search(r"<article\b.*?</article>", path.read_text(encoding="utf-8"), re.S).group(0)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw)))


def translate(po, table):
    """Fill the msgstr of every entry the table knows; leave the rest."""
    with open(po, "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id in table:
            message.string, message.flags = table[message.id], set()
    with open(po, "wb") as handle:
        write_po(handle, catalog, width=0)


def update(root):
    for step in (translation.extract, translation.update_catalogues):
        done = step(root, quiet=True)
        assert done.returncode == 0, getattr(done, "check_output", done.stderr)[-3000:]


def test_a_translator_round_trip(tmp_path):
    root = minimal_book(tmp_path, pages={"demo": CHAPTER})
    update(root)
    catalogues = translation.catalogues(root)
    assert sorted(catalogues) == ["chapters/demo", "intro"]
    for po in catalogues.values():
        translate(po, CHINESE)
    assert all(translation.catalogue_state(p).complete for p in catalogues.values())

    done = book.build(root, quiet=True)
    assert done.returncode == 0, done.check_output[-3000:]
    english = page_text(root / "_build/html/chapters/demo.html")
    chinese = page_text(root / "_build/html/zh/chapters/demo.html")
    assert "The answer is 42 squares." in english
    assert "答案是 42 个正方形。" in chinese  # the glued number, pasted into the translation
    assert "进展顺利。" in chinese.replace(" ", "")  # the glued word, translated
    assert "Executing" not in done.check_output.split("The HTML pages are in")[-1]

    chapter = root / "chapters/demo.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace(PROSE, EDITED)
                       .replace("'fine'", "'slowly'"))
    update(root)
    state = translation.catalogue_state(catalogues["chapters/demo"])
    assert state.fuzzy == [EDITED]  # the old translation, flagged
    assert state.untranslated == ["slowly"]  # the new glued word; "fine" is kept, translated:
    with open(catalogues["chapters/demo"], "rb") as handle:
        assert read_po(handle).get("fine").string == "顺利"

    done = book.build(root, quiet=True)
    assert done.returncode == 0, done.check_output[-3000:]
    chinese = page_text(root / "_build/html/zh/chapters/demo.html")
    assert "The answer, computed below, is 42 squares." in chinese  # never the stale one
    assert "答案是" not in chinese

    translate(catalogues["chapters/demo"], {EDITED: RETRANSLATED, "slowly": "缓慢"})
    assert translation.catalogue_state(catalogues["chapters/demo"]).complete
    done = book.build(root, quiet=True)
    assert done.returncode == 0, done.check_output[-3000:]
    chinese = page_text(root / "_build/html/zh/chapters/demo.html")
    assert "下面算出的答案是 42 个正方形。" in chinese and "进展缓慢。" in chinese.replace(" ", "")
