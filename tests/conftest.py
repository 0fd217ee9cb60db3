"""Shared fixtures: the real book, built once per test session, strictly."""

import pytest
from books import ROOT

from onebyone.tools import book

HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def built_book():
    """The real book, built strictly (reuses the execution cache when nothing changed)."""
    done = book.build(ROOT, quiet=True)
    assert done.returncode == 0, done.check_output[-5000:]
    return HTML
