"""The grader's own words on a feedback page, in the language of the student's notebook.

The grader writes in English: the page's headings and score lines (templates/feedback.html,
inside `_()`), the notes it adds to a result (plan.py: "read-only cell setup was changed: restored
from the source") and the messages it gives a test in place of a check's ("your code raised ...",
"timed out after 2 s"). A result keeps them in English, as the journal, the tables and the
instructor's report show them; the feedback page of a Chinese submission (language.py) shows them
in Chinese, from the gettext catalogue `locale/<lang>/LC_MESSAGES/onebyone-grader.po` next to this
module (extracted, merged and compiled by onebyone.tools.check_messages, as the checks' is).

A note is made from a template with fields: `N_("solution cell {cell} is missing").format(...)`.
`N_` only marks the template for the catalogue; the page finds which template made a note by
matching it (the fields become named groups) and fills the translation with the same fields.
A note no template made (a worker's crash, say) stays as it is.

A leaf module (the standard library only): plan.py, runner.py and remote.py import it.
"""

import functools
import gettext
import pathlib
import re

DOMAIN = "onebyone-grader"
LOCALE_DIR = pathlib.Path(__file__).resolve().parent / "locale"
ENGLISH = "en"
FIELD = re.compile(r"\{(\w+)\}")


def N_(template: str) -> str:  # noqa: N802 (gettext's name for "mark, translate later")
    """`template`, unchanged: marks it as a message of the grader's catalogue."""
    return template


@functools.cache
def _translations(code: str) -> gettext.NullTranslations:
    if code == ENGLISH:
        return gettext.NullTranslations()
    try:
        return gettext.translation(DOMAIN, LOCALE_DIR, languages=[code])
    except OSError:  # no compiled catalogue: the page stays English rather than fail
        return gettext.NullTranslations()


def _pattern(template: str) -> re.Pattern:
    """A regular expression matching the texts `template` makes (each field a named group)."""
    parts, at = [], 0
    for found in FIELD.finditer(template):
        parts.append(re.escape(template[at:found.start()]))
        parts.append(f"(?P<{found.group(1)}>.*?)")
        at = found.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts), re.DOTALL)


@functools.cache
def _templates(code: str) -> list:
    """[(pattern, translation)] of the catalogue's templates, the most literal text first (so
    "not run: {status}" is tried before a template that is only a field and a word)."""
    catalog = getattr(_translations(code), "_catalog", {})
    found = [(key, value) for key, value in catalog.items()
             if isinstance(key, str) and key and FIELD.search(key) and value]
    found.sort(key=lambda pair: -len(FIELD.sub("", pair[0])))
    return [(_pattern(key), value) for key, value in found]


class Words:
    """The grader's words in one language (`code`: "en", "zh_CN")."""

    def __init__(self, code: str = ENGLISH):
        self.code = code
        self.translations = _translations(code)

    def __call__(self, message: str) -> str:
        """`message` (a catalogue entry) in this language; English when it has no translation."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations.ngettext(singular, plural, count)

    def note(self, text: str) -> str:
        """A note or message the grader made from a template, in this language (its fields
        translated too when one is itself a message, like a status); other text unchanged."""
        if self.code == ENGLISH or not text:
            return text
        whole = self(text)
        if whole != text:
            return whole
        for pattern, translation in _templates(self.code):
            found = pattern.fullmatch(text)
            if found:
                fields = {name: self(value) for name, value in found.groupdict().items()}
                try:
                    return translation.format(**fields)
                except (KeyError, IndexError, ValueError):  # a broken translation: keep English
                    return text
        return text
