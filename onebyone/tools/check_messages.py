"""The catalogues of the checks' messages (onebyone/checks/locale) and of the grader's words on a
feedback page (onebyone/tools/grading/locale, grading/wording.py): extracted, merged, compiled.

The checks write every message a learner sees in English inside `_()` / `ngettext()`
(onebyone.checks.messages). Babel does the rest, as sphinx-intl does for the book's pages:

- `update()` extracts those messages from onebyone/checks/*.py and merges them into each
  language's catalogue `onebyone/checks/locale/<lang>/LC_MESSAGES/onebyone-checks.po`: a message
  whose English changed keeps its old translation marked fuzzy, a new one comes in untranslated
  (`onebyone translations` runs it with the book's catalogues);
- `compile_catalogues()` writes the `.mo` that the standard library's gettext reads, next to each
  `.po` (fuzzy entries left out, so a stale translation is never shown). The kit's build runs it
  on the wheel's copy of the package, `onebyone exercises` on the course's own; `make` compiles
  both domains of the checkout.

The grader's words are the templates marked `N_()` in tools/grading/*.py, the `_()` of the
feedback page's template (Jinja2's own extractor) and the statuses a page shows.
"""

import dataclasses
import pathlib

from onebyone.tools import environment

PACKAGE = environment.PACKAGE
LANGUAGES = ("zh_CN",)
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}


@dataclasses.dataclass(frozen=True)
class Domain:
    """One gettext catalogue: its name, the folder of the package it is read from (its
    `locale/` is there too), and which files hold its messages (Babel's method map)."""

    name: str
    folder: str
    method_map: tuple


CHECKS = Domain("onebyone-checks", "checks", (("*.py", "python"),))
GRADER = Domain("onebyone-grader", "tools/grading",  # its subfolders too (engines/, outputs/)
                (("**.py", "python"), ("../templates/feedback.html", "jinja2.ext:babel_extract")))
DOMAINS = (CHECKS, GRADER)
DOMAIN = CHECKS.name  # onebyone.checks.messages.DOMAIN (the kit cannot import the tools)


def locale_dir(package=PACKAGE, domain=CHECKS) -> pathlib.Path:
    return pathlib.Path(package) / domain.folder / "locale"


def catalogue_path(language, package=PACKAGE, domain=CHECKS) -> pathlib.Path:
    return locale_dir(package, domain) / language / "LC_MESSAGES" / f"{domain.name}.po"


def _extract(package: pathlib.Path, domain: Domain):
    """(path in the package, message, comments, context) of every marked message of `domain`."""
    from babel.messages.extract import extract_from_dir, extract_from_file

    folder = package / domain.folder
    for pattern, method in domain.method_map:
        if pattern.startswith("../"):  # one named file outside the folder (the page template)
            path = (folder / pattern).resolve()
            for _line, message, comments, context in extract_from_file(
                    method, path, keywords=KEYWORDS):
                yield path.relative_to(package.resolve()), message, comments, context
            continue
        for filename, _line, message, comments, context in extract_from_dir(
                folder, method_map=[(pattern, method)], keywords=KEYWORDS):
            yield pathlib.Path(domain.folder) / filename, message, comments, context


def _statuses():
    """The statuses a feedback page names (result.Status): words of the grader's catalogue."""
    from onebyone.tools.grading.result import Status

    return [status.value for status in Status]


def template(package=PACKAGE, domain=CHECKS):
    """Every message of `domain`, as a Babel catalogue with no translations."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(project=domain.name, charset="utf-8")
    for path, message, comments, context in _extract(pathlib.Path(package), domain):
        # no line numbers: an edit elsewhere in a module leaves the catalogue unchanged
        catalog.add(message, locations=[(f"onebyone/{path}", None)],
                    auto_comments=comments, context=context)
    if domain is GRADER:
        for status in _statuses():
            catalog.add(status, locations=[("onebyone/tools/grading/result.py", None)],
                        auto_comments=["a submission's status (result.Status)"])
    return catalog


def read(path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        return read_po(handle)


def update(package=PACKAGE, languages=LANGUAGES, domain=CHECKS) -> list[pathlib.Path]:
    """Merge today's messages into every language's catalogue of `domain` (created if
    missing)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    pot, written = template(package, domain), []
    for language in languages:
        path = catalogue_path(language, package, domain)
        catalog = read(path) if path.is_file() else Catalog(locale=language, charset="utf-8")
        catalog.update(pot, update_header_comment=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            # width 0: one line per message, so a translator's diff is one line per edit
            write_po(handle, catalog, width=0, omit_header=False, sort_output=False,
                     ignore_obsolete=True)
        written.append(path)
    return written


def compile_catalogues(package=PACKAGE, domains=DOMAINS) -> list[pathlib.Path]:
    """Write the .mo of every catalogue of `domains` (the checks' first) next to its .po; returns
    the .mo files. A package without a domain's folder (the kit's copy: no tools) has none."""
    from babel.messages.mofile import write_mo

    written = []
    pos = [po for domain in domains
           for po in sorted(locale_dir(package, domain).glob(f"*/LC_MESSAGES/{domain.name}.po"))]
    for po in pos:
        mo = po.with_suffix(".mo")
        with open(mo, "wb") as handle:
            write_mo(handle, read(po), use_fuzzy=False)
        written.append(mo)
    return written
