"""The strict book build: the real book builds with its computed numbers; a failing cell fails."""

import html
import re
import shutil

import pytest

from onebyone import book, cost

ROOT = book.ROOT
HTML = ROOT / "_build" / "html"


def page_text(relative):
    """The visible text of a built page, with tags stripped and spaces folded."""
    raw = (HTML / relative).read_text(encoding="utf-8")
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw)))


@pytest.fixture(scope="session")
def built_book():
    """The real book, built strictly (reuses the execution cache when nothing changed)."""
    done = book.build(ROOT, quiet=True)
    assert done.returncode == 0, done.check_output[-5000:]
    return HTML


def test_every_toc_page_is_built(built_book):
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    files = re.findall(r"file:\s*(\S+)", toc) + ["intro"]
    for name in files:
        assert (built_book / f"{name}.html").is_file(), f"{name} was not built"


def test_one_by_one_chapter_shows_computed_numbers(built_book):
    text = page_text("chapters/one-by-one.html")
    assert f"squeeze takes {cost.conv_params(192, 32, 1):,} weights" in text
    assert f"or {cost.conv_params(192, 32, 1, bias=True):,} with one bias" in text
    direct, squeezed = cost.conv_params(192, 32, 5), cost.conv_params(192, 16, 1) + cost.conv_params(16, 32, 5)
    assert f"That is {direct:,} against {squeezed:,} weights" in text
    raw = (built_book / "chapters/one-by-one.html").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" not in text and "traceback" not in raw


def test_one_by_one_chapter_has_its_figure_with_alt_text(built_book):
    raw = (built_book / "chapters/one-by-one.html").read_text(encoding="utf-8")
    images = re.findall(r"<img[^>]*>", raw)
    assert images, "the chapter has no figure"
    for image in images:
        alt = re.search(r'alt="([^"]*)"', image)
        assert alt and len(alt.group(1)) > 20, f"image without meaningful alt text: {image}"
        src = re.search(r'src="([^"]+)"', image).group(1)
        assert (built_book / "chapters" / src).resolve().is_file()
    assert "<figcaption" in raw


def test_exercise_page_is_shown_unexecuted(built_book):
    text = page_text("exercises/one-by-one/one-by-one.html")
    assert "raise NotImplementedError ()" in text or "raise NotImplementedError()" in text
    assert "Traceback (most recent call last)" not in text  # shown as handed out, not run
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text


def minimal_book(folder, chapter_body):
    """A one-chapter book with the course's configuration, in `folder`."""
    shutil.copy(ROOT / "_config.yml", folder / "_config.yml")
    (folder / "intro.md").write_text("# A test book\n\n```{tableofcontents}\n```\n")
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: Chapters\n    chapters:\n"
        "      - file: chapters/broken\n")
    (folder / "chapters").mkdir()
    header = (ROOT / "chapters/one-by-one.md").read_text(encoding="utf-8").split("---\n")[1]
    (folder / "chapters/broken.md").write_text(f"---\n{header}---\n\n# Broken\n\n{chapter_body}")
    return folder


def test_a_failing_cell_fails_the_build_every_time(tmp_path):
    root = minimal_book(tmp_path, "Some prose.\n\n```{code-cell} ipython3\n"
                        "raise RuntimeError('this cell fails on purpose')\n```\n")
    first = book.build(root, quiet=True)
    assert first.returncode != 0
    assert "this cell fails on purpose" in first.check_output
    second = book.build(root, quiet=True)  # an incremental build must not forget the failure
    assert second.returncode != 0


def test_a_working_minimal_book_builds(tmp_path):
    root = minimal_book(tmp_path, "```{code-cell} ipython3\nprint(6 * 7)\n```\n")
    done = book.build(root, quiet=True)
    assert done.returncode == 0, done.check_output[-3000:]
    assert "42" in (root / "_build/html/chapters/broken.html").read_text(encoding="utf-8")
