"""Shared fixtures: the real book, built once per test session, strictly."""

import sys

import course_outputs
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


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session: Playwright's sync API runs one instance per
    process, so every browser test shares it."""
    from browser import chromium_or_skip, launch

    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="session", autouse=True)
def course_folder_kept_as_it_was():
    """Tests that grade with the checkout as their course write its default gradebook (and
    nbgrader's folders) as an instructor's run would: what was there before is set aside for
    the session and put back after it, what the tests made is removed; one session at a time,
    and a killed session's state is mended by the next (tests/course_outputs.py)."""
    def said_mended():
        print(f"\nA test session on {ROOT} was killed: its course outputs were removed and the "
              "checkout's own put back.", file=sys.stderr)

    try:
        with course_outputs.kept_as_they_were(ROOT, said_mended):
            yield
    except course_outputs.Busy as busy:
        pytest.exit(str(busy), returncode=pytest.ExitCode.USAGE_ERROR)
