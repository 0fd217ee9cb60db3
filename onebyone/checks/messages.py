"""The checks' messages in the notebook's language: stdlib gettext, catalogues in the kit.

English is the source: every message a learner sees is written in English inside `_()` (or
`ngettext()`), with `{name}` fields filled by `.format()` afterwards, so that a translation can
put the fields where its grammar wants them. A notebook's setup cell chooses the language:

    from onebyone.checks import language
    language("zh_CN")

The Chinese text is in `locale/zh_CN/LC_MESSAGES/onebyone-checks.po` next to this module; the
kit's build compiles it to the `.mo` gettext reads (onebyone.tools.check_messages), so the kit
needs nothing but the standard library at run time. English stays the default, and is what the
grader uses.
"""

import gettext
import pathlib
import re

DOMAIN = "onebyone-checks"
LOCALE_DIR = pathlib.Path(__file__).resolve().parent / "locale"
ENGLISH = "en"
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")  # zh_CN: a name, never a path

_state = {"language": ENGLISH, "translations": gettext.NullTranslations()}


class UnknownLanguage(ValueError):
    """No catalogue of the checks' messages in the language asked for."""


def languages() -> list[str]:
    """The languages the checks speak: English and every compiled catalogue."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return [ENGLISH, *found]


def language(code: str | None = None) -> str:
    """Make the checks speak `code` ("zh_CN", "en"); returns the language now spoken.

    Without an argument, only returns it. A language with no compiled catalogue is refused with
    one clear line, never quietly replaced by English."""
    if code is None:
        return _state["language"]
    if code == ENGLISH:
        _state.update(language=ENGLISH, translations=gettext.NullTranslations())
        return ENGLISH
    try:
        if not LANGUAGE_CODE.fullmatch(str(code)):
            raise FileNotFoundError(code)
        translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code])
    except OSError:
        raise UnknownLanguage(f"the checks have no messages in {code!r}; they speak "
                              f"{', '.join(languages())}") from None
    _state.update(language=code, translations=translations)
    return code


def _(message: str) -> str:
    """`message` in the chosen language (English when the catalogue lacks it)."""
    return _state["translations"].gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form of a message for `count`, in the chosen language."""
    return _state["translations"].ngettext(singular, plural, count)
