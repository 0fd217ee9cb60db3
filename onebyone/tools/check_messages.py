"""The catalogues of the checks' messages (onebyone/checks/locale): extracted, merged, compiled.

The checks write every message a learner sees in English inside `_()` / `ngettext()`
(onebyone.checks.messages). Babel does the rest, as sphinx-intl does for the book's pages:

- `update()` extracts those messages from onebyone/checks/*.py and merges them into each
  language's catalogue `onebyone/checks/locale/<lang>/LC_MESSAGES/onebyone-checks.po`: a message
  whose English changed keeps its old translation marked fuzzy, a new one comes in untranslated
  (`onebyone translations` runs it with the book's catalogues);
- `compile_catalogues()` writes the `.mo` that the standard library's gettext reads, next to each
  `.po` (fuzzy entries left out, so a stale translation is never shown). The kit's build runs it
  on the wheel's copy of the package, `onebyone exercises` on the course's own.
"""

import pathlib

from onebyone.tools import environment

PACKAGE = environment.PACKAGE
DOMAIN = "onebyone-checks"  # onebyone.checks.messages.DOMAIN (the kit cannot import the tools)
LANGUAGES = ("zh_CN",)
KEYWORDS = {"_": None, "ngettext": (1, 2)}


def locale_dir(package=PACKAGE) -> pathlib.Path:
    return pathlib.Path(package) / "checks" / "locale"


def catalogue_path(language, package=PACKAGE) -> pathlib.Path:
    return locale_dir(package) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def template(package=PACKAGE):
    """Every message of the checks, as a Babel catalogue with no translations."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    checks = pathlib.Path(package) / "checks"
    catalog = Catalog(project="onebyone checks", charset="utf-8")
    for filename, _line, message, comments, context in extract_from_dir(
            checks, method_map=[("*.py", "python")], keywords=KEYWORDS):
        # no line numbers: an edit elsewhere in a module leaves the catalogue unchanged
        catalog.add(message, locations=[(f"onebyone/checks/{filename}", None)],
                    auto_comments=comments, context=context)
    return catalog


def read(path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        return read_po(handle)


def update(package=PACKAGE, languages=LANGUAGES) -> list[pathlib.Path]:
    """Merge today's messages into every language's catalogue (created if missing)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    pot, written = template(package), []
    for language in languages:
        path = catalogue_path(language, package)
        catalog = read(path) if path.is_file() else Catalog(locale=language, charset="utf-8")
        catalog.update(pot, update_header_comment=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            # width 0: one line per message, so a translator's diff is one line per edit
            write_po(handle, catalog, width=0, omit_header=False, sort_output=False,
                     ignore_obsolete=True)
        written.append(path)
    return written


def compile_catalogues(package=PACKAGE) -> list[pathlib.Path]:
    """Write the .mo of every catalogue of the checks next to its .po; returns the .mo files."""
    from babel.messages.mofile import write_mo

    written = []
    for po in sorted(locale_dir(package).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        with open(mo, "wb") as handle:
            write_mo(handle, read(po), use_fuzzy=False)
        written.append(mo)
    return written
