"""The report's message catalogue: every sentence the report generates (the page, the methods
statement, warnings, chart legends) is a whole message with placeholders, translated through gettext.

The catalogue is src/quietpoll/report/locale/<code>/LC_MESSAGES/report.po (committed, written by hand;
the English msgids are extracted from the Python modules and the Jinja2 template with pybabel, see
locale/babel.cfg). It is compiled in memory with Babel when first used, so the .po file is the one
source and can never be out of date with a compiled copy. A language without a catalogue (English)
gets the msgids themselves."""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from importlib import resources

DOMAIN = "report"
#: report language (base name, as [report] language gives it) -> catalogue locale
LOCALES = {"Korean": "ko"}


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; translated where it is used."""
    return message


def locale_of(language: str | None) -> str:
    base = (language or "English").split("(")[0].strip().casefold()  # "korean" as Kobo forms write it
    return next((code for name, code in LOCALES.items() if name.casefold() == base), "en")


def catalogue_path(locale: str):
    return resources.files(__package__).joinpath("locale", locale, "LC_MESSAGES", f"{DOMAIN}.po")


@lru_cache(maxsize=8)
def translations(language: str | None = "English") -> gettext.NullTranslations:
    """The gettext translations of the report in `language` (a form label language such as "Korean"
    or "Korean (ko)"); English, and any language without a catalogue, returns the msgids."""
    locale = locale_of(language)
    if locale == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with catalogue_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)
