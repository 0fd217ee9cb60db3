"""Shared fixtures: the real book, built once per test session, strictly."""

import shutil

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


# what `onebyone grade` and nbgrader's commands write in the course folder they run on
COURSE_OUTPUTS = ("gradebook.db", "submitted", "autograded", "feedback")


@pytest.fixture(scope="session", autouse=True)
def course_folder_kept_as_it_was(tmp_path_factory):
    """Tests that grade with the checkout as their course write its default gradebook (and
    nbgrader's folders) as an instructor's run would: what was there before is set aside for
    the session and put back after it, and what the tests made is removed."""
    aside = tmp_path_factory.mktemp("course-outputs-set-aside")
    moved = []
    for name in COURSE_OUTPUTS:
        if (ROOT / name).exists():
            shutil.move(ROOT / name, aside / name)
            moved.append(name)
    yield
    for name in COURSE_OUTPUTS:
        made = ROOT / name
        if made.is_dir() and not made.is_symlink():
            shutil.rmtree(made)
        elif made.exists() or made.is_symlink():
            made.unlink()
    for name in moved:
        shutil.move(aside / name, ROOT / name)
