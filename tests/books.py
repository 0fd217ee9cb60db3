"""Small books built in temporary folders, with the course's own configuration."""

import pathlib
import shutil

from onebyone.tools import book

ROOT = book.ROOT
# The jupytext header every chapter starts with (taken from the real chapter, not retyped).
HEADER = (ROOT / "chapters/one-by-one.md").read_text(encoding="utf-8").split("---\n")[1]


def minimal_book(folder, chapter_body=None, pages=None):
    """A book in `folder` with the course's _config.yml and one page per entry of `pages`.

    `pages` maps a name to the MyST body of `chapters/<name>.md` (a title is added);
    `chapter_body` alone makes the single page `chapters/broken`.
    """
    folder = pathlib.Path(folder)
    pages = dict(pages or {})
    if chapter_body is not None:
        pages["broken"] = chapter_body
    shutil.copy(ROOT / "_config.yml", folder / "_config.yml")
    (folder / "intro.md").write_text("# A test book\n\n```{tableofcontents}\n```\n")
    entries = "".join(f"      - file: chapters/{name}\n" for name in pages)
    (folder / "_toc.yml").write_text(
        f"format: jb-book\nroot: intro\nparts:\n  - caption: Chapters\n    chapters:\n{entries}")
    (folder / "chapters").mkdir(exist_ok=True)
    for name, body in pages.items():
        title = name.replace("-", " ").capitalize()
        (folder / f"chapters/{name}.md").write_text(f"---\n{HEADER}---\n\n# {title}\n\n{body}")
    return folder
