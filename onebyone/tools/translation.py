"""The Chinese edition, from the English source: gettext catalogues and the second build.

English is the source. Sphinx extracts every paragraph, title, caption and alt text of the book
into .pot templates (`_build/gettext/`); `sphinx-intl` merges them into the catalogues
`locale/zh_CN/LC_MESSAGES/<docname>.po`, marking an entry whose English changed as fuzzy. The
Chinese edition is the same Sphinx build with `language = zh_CN`, written to `_build/html/zh/`:
it reads the same execution cache (`_build/.jupyter_cache`), so no chapter runs again and both
editions show the same outputs.

    onebyone translations         # .pot from the English source, then the .po catalogues updated
    onebyone book                 # both editions (English first: it fills the execution cache)

Sphinx runs in a child process (`python -m onebyone.tools.translation html|gettext ROOT`):
docutils' registries are global, and jupyter-book does the same.
"""

import dataclasses
import pathlib
import subprocess
import sys

from onebyone.tools import environment

ROOT = environment.course_root()
LANGUAGE = "zh_CN"  # Sphinx's name: its own messages and the search's word splitter (jieba)
EDITION = "zh"  # the Chinese site's folder inside _build/html
LOCALE = "locale"
EXECUTION_CACHE = ".jupyter_cache"
# Words the Chinese search must know as wholes (jieba would split 全局平均池化 into three).
SEARCH_WORDS = pathlib.Path(LOCALE) / LANGUAGE / "search-words.txt"


def catalogue_folder(root=ROOT):
    return pathlib.Path(root) / LOCALE / LANGUAGE / "LC_MESSAGES"


def _overrides(root, language=None):
    """Sphinx settings on top of _config.yml's for one of the two builds."""
    root = pathlib.Path(root)
    overrides = {
        # jupyter-book's own command sets these two; its config builder requires them.
        "external_toc_path": (root / "_toc.yml").as_posix(),
        "latex_individualpages": False,
        "nitpicky": True,
        # Both editions read the one execution cache, whatever their output folder.
        "nb_execution_cache_path": str(root / "_build" / EXECUTION_CACHE),
    }
    if language:
        overrides["language"] = language
        overrides["onebyone_edition_outputs"] = str(root / "_build" / f"jupyter_execute-{EDITION}")
        words = root / SEARCH_WORDS
        if words.is_file():
            overrides["html_search_options"] = {"dict": str(words)}
    return overrides


def run_sphinx(root, builder):
    """Run Sphinx in this process (the child's side): `html` = the Chinese edition."""
    from jupyter_book.sphinx import build_sphinx

    root = pathlib.Path(root).resolve()
    out = root / "_build"
    if builder == "gettext":
        outdir, doctrees, overrides = out / "gettext", out / ".doctrees-gettext", _overrides(root)
    else:
        outdir, doctrees = out / "html" / EDITION, out / f".doctrees-{EDITION}"
        overrides = _overrides(root, LANGUAGE)
    # The extraction reads every page afresh: alt texts of code figures are caught while reading.
    result = build_sphinx(root, outdir, noconfig=True, path_config=str(root / "_config.yml"),
                          confoverrides=overrides, doctreedir=doctrees, builder=builder,
                          warningiserror=True, keep_going=True, freshenv=builder == "gettext")
    return result if isinstance(result, int) else 1


def _child(root, builder, quiet):
    command = [sys.executable, "-m", "onebyone.tools.translation", builder, str(root)]
    done = subprocess.run(command, capture_output=quiet, text=True,
                          env=environment.with_env_bin())
    if quiet:
        done.check_output = (done.stdout or "") + (done.stderr or "")
    return done


def build_chinese(root=ROOT, quiet=False):
    """The Chinese edition into root/_build/html/zh (after the English build). A process."""
    done = _child(root, "html", quiet)
    if done.returncode != 0:  # as for the English build: a failure must repeat next time
        import shutil

        shutil.rmtree(pathlib.Path(root) / "_build" / f".doctrees-{EDITION}", ignore_errors=True)
    return done


def extract(root=ROOT, quiet=False):
    """The .pot templates of every page into root/_build/gettext. A finished process."""
    return _child(root, "gettext", quiet)


def update_catalogues(root=ROOT, quiet=False):
    """Merge the .pot templates into locale/zh_CN/LC_MESSAGES/*.po (sphinx-intl update)."""
    root = pathlib.Path(root)
    command = [str(environment.env_bin() / "sphinx-intl"), "update",
               "-p", str(root / "_build" / "gettext"), "-d", str(root / LOCALE), "-l", LANGUAGE,
               "-w", "0"]  # -w 0: no line wrapping, so a catalogue's diff is one line per edit
    done = subprocess.run(command, capture_output=quiet, text=True,
                          env=environment.with_env_bin())
    if done.returncode == 0:
        mark_glued_phrases(root)
    return done


def mark_glued_phrases(root=ROOT):
    """Comment the glued phrases' entries, so the next extraction keeps them all (a phrase that
    depends on a measurement comes and goes between builds: sphinx_languages.glued_phrases)."""
    import json

    from sphinx_intl.catalog import dump_po, load_po

    from onebyone.tools.sphinx_languages import GLUED_COMMENT, GLUED_LIST

    listing = pathlib.Path(root) / "_build" / "gettext" / GLUED_LIST
    glued = json.loads(listing.read_text(encoding="utf-8")) if listing.is_file() else {}
    for domain, phrases in glued.items():
        po = catalogue_folder(root) / f"{domain}.po"
        if not po.is_file():
            continue
        catalog = load_po(str(po))
        marked = [m for m in catalog if m.id in set(phrases)
                  and GLUED_COMMENT not in m.user_comments]
        for message in marked:
            message.user_comments.append(GLUED_COMMENT)
        if marked:
            dump_po(str(po), catalog, width=0)


@dataclasses.dataclass
class CatalogueState:
    """How far one catalogue is translated."""

    path: pathlib.Path
    total: int
    untranslated: list
    fuzzy: list

    @property
    def complete(self):
        return not self.untranslated and not self.fuzzy


def catalogue_state(path):
    """Count a .po file's entries: translated, untranslated and fuzzy (Babel reads it)."""
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        catalog = read_po(handle)
    entries = [m for m in catalog if m.id]  # the header has an empty id
    return CatalogueState(
        path=pathlib.Path(path), total=len(entries),
        untranslated=[m.id for m in entries if not m.fuzzy and not m.string],
        fuzzy=[m.id for m in entries if m.fuzzy])


def catalogues(root=ROOT):
    """Every catalogue of the Chinese edition, by docname."""
    folder = catalogue_folder(root)
    return {p.relative_to(folder).with_suffix("").as_posix(): p
            for p in sorted(folder.rglob("*.po"))}


if __name__ == "__main__":
    sys.exit(run_sphinx(sys.argv[2], sys.argv[1]))
