"""Shared fixtures: the real book, built once per test session, strictly."""

import pytest
from books import ROOT

from onebyone.tools import book, translation

HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def book_build():
    """The real book's build, strict (reuses the execution cache when nothing changed): the
    finished process, its log in `check_output`, the Chinese build's in `chinese_output`, and
    `fresh_chinese`: whether the Chinese edition was built from scratch (no Sphinx environment
    of its own yet, as in a fresh clone)."""
    fresh_chinese = not (ROOT / "_build" / f".doctrees-{translation.EDITION}").is_dir()
    done = book.build(ROOT, quiet=True)
    assert done.returncode == 0, done.check_output[-5000:]
    done.fresh_chinese = fresh_chinese and hasattr(done, "chinese_output")
    return done


@pytest.fixture(scope="session")
def built_book(book_build):
    """The real book's site folder, _build/html (the Chinese edition in _build/html/zh)."""
    return HTML
