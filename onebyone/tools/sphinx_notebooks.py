"""A Sphinx extension: the Chinese edition's exercise pages offer the Chinese notebooks.

An exercise page's download button fetches `_sources/exercises/<id>/<id>.ipynb`, the copy of
the page's source that Sphinx writes. In the Chinese edition that copy is replaced, once the
build has finished, by the Chinese notebook (exercises/<id>/zh_CN/<id>.ipynb, made by
`onebyone exercises`): same file name, so a student submits it as the English one.
"""

import pathlib
import shutil

from onebyone.tools import chinese_notebooks
from onebyone.tools.sphinx_languages import is_chinese


def offer_chinese_notebooks(app, exception):
    """After a successful Chinese build: its exercise pages' downloads become the Chinese
    notebooks."""
    if exception is not None or not is_chinese(app.config) or app.builder.format != "html":
        return
    sources = pathlib.Path(app.outdir) / "_sources"
    for docname in sorted(app.env.found_docs):
        english = pathlib.Path(app.srcdir) / f"{docname}.ipynb"
        chinese = chinese_notebooks.chinese_path(english)
        offered = sources / f"{docname}.ipynb"
        if english.is_file() and chinese.is_file() and offered.is_file():
            shutil.copyfile(chinese, offered)


def setup(app):
    app.connect("build-finished", offer_chinese_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
