"""The book's build time: cold (empty _build), nothing changed, and after a prose-only edit.

`book.build` builds both editions (English, then the Chinese one from the same execution cache),
so every row is both editions; the last row is the Chinese edition alone, rebuilt from scratch
after the English one (it must read the cache, not run the chapters again).
"""

import pathlib
import shutil
import tempfile

from onebyone.tools import book, translation
from onebyone.tools.bench import median_seconds

TITLE = "Book build, strict, both editions (median of 3 runs each)"
ROOT = book.ROOT


def _copy_of_book(into):
    """The book's sources, copied so the benchmark never touches the real _build."""
    ignore = shutil.ignore_patterns("_build", ".venv", ".git", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, into, ignore=ignore, dirs_exist_ok=True)
    return into


def _build(root):
    done = book.build(root, quiet=True)
    if done.returncode != 0:
        raise RuntimeError("the book does not build; run `make book` to see why")


def _prose_page(root):
    """The first executed chapter of the copy: a MyST page with code cells."""
    for _, source in book.toc_pages(root):
        if source.suffix == ".md" and "```{code-cell}" in source.read_text(encoding="utf-8"):
            return source
    raise RuntimeError("the book has no chapter with code cells")


def run(repeats=3):
    with tempfile.TemporaryDirectory() as tmp:
        root = _copy_of_book(pathlib.Path(tmp) / "book")

        def cold():
            shutil.rmtree(root / "_build", ignore_errors=True)
            _build(root)

        cold_s = median_seconds(cold, repeats, warmup=0)
        unchanged_s = median_seconds(lambda: _build(root), repeats, warmup=0)
        page = _prose_page(root)
        edits = iter(range(1_000))

        def prose_edit():
            # A new sentence at the end: the code cells, and so the cached execution, stay valid.
            with open(page, "a", encoding="utf-8") as text:
                text.write(f"\nA sentence added by the benchmark, number {next(edits)}.\n")
            _build(root)

        prose_s = median_seconds(prose_edit, repeats, warmup=0)
        chinese_s = median_seconds(lambda: _chinese_alone(root), repeats, warmup=0)
    return [{"build": "cold (no _build)", "median s": f"{cold_s:.1f}"},
            {"build": "nothing changed", "median s": f"{unchanged_s:.1f}"},
            {"build": f"prose edit ({page.relative_to(root).as_posix()})",
             "median s": f"{prose_s:.1f}"},
            {"build": "Chinese edition alone, from scratch after the English one",
             "median s": f"{chinese_s:.1f}"}]


def _chinese_alone(root):
    """The Chinese edition rebuilt from nothing but the English build's execution cache."""
    if not translation.catalogue_folder(root).is_dir():
        return
    shutil.rmtree(root / "_build" / f".doctrees-{translation.EDITION}", ignore_errors=True)
    shutil.rmtree(root / "_build" / "html" / translation.EDITION, ignore_errors=True)
    done = translation.build_chinese(root, quiet=True)
    if done.returncode != 0:
        raise RuntimeError("the Chinese edition does not build; run `make book` to see why")
    if "Executing notebook" in done.check_output:  # the point of this row: it reads the cache
        raise RuntimeError("the Chinese build executed a chapter instead of reading the cache")
