"""How names and queries are compared: lower case, accents and umlauts folded, words split.

Every word is kept in two spellings, German transliteration ("Gütersloh" → "guetersloh")
and plain accent stripping ("gutersloh"), so both "guetersloh" and "gutersloh" find
"Gütersloh Hbf", and ß becomes "ss" in both ("strasse" finds "Straße"). House numbers
keep their letters and slashes ("5a", "31/1"); a query word with a digit in it is a
house number or a postcode, never a name word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe",
                         "œ": "oe", "å": "aa"})
_PLAIN = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l"})
_NON_WORD = re.compile(r"[^0-9a-z]+")
_QUERY_WORD = re.compile(r"[^\s,;]+")
#: Abbreviations residents type as whole words, and what they stand for.
ABBREVIATIONS = {"str": "strasse", "st": "street", "ave": "avenue", "av": "avenida",
                 "blvd": "boulevard", "r": "rua", "pl": "platz"}


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 16)
def spellings(text: str) -> tuple[str, ...]:
    """Normalised forms of ``text``: lower case, words joined by single spaces (cached:
    the names a query is ranked against come back again and again)."""
    low = unicodedata.normalize("NFC", text).casefold()
    forms: list[str] = []
    for table in (_GERMAN, _PLAIN):
        s = _NON_WORD.sub(" ", strip_accents(low.translate(table))).strip()
        if s and s not in forms:
            forms.append(s)
    return tuple(forms)


def words(text: str) -> list[str]:
    """Every distinct word of every spelling of ``text`` (what a name is indexed by); a
    chunk that folding splits ("McDonald's", "E-Kinos") is also indexed joined
    ("mcdonalds", "ekinos")."""
    out: list[str] = []
    for chunk in text.split():
        for form in spellings(chunk):
            parts = form.split(" ")
            for w in (*parts, "".join(parts)) if len(parts) > 1 else parts:
                if w not in out:
                    out.append(w)
    return out


@lru_cache(maxsize=1 << 16)
def house_number(text: str) -> str:
    """A house number as compared: lower case, no spaces ("5 A" → "5a")."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True)
class QueryWord:
    """One word of a query: where it stands in the text and its spellings."""

    start: int
    length: int
    forms: tuple[str, ...]  # name spellings ("" parts removed); empty for numbers
    number: str  # the word as a house number or postcode when it holds a digit, else ""


def expansions(form: str) -> tuple[str, ...]:
    """A query word and what it abbreviates: "str" → "strasse", "jahnstr" → "jahnstrasse"."""
    if form in ABBREVIATIONS:
        return form, ABBREVIATIONS[form]
    if len(form) > 3 and form.endswith("str"):
        return form, form + "asse"
    return (form,)


def query_words(text: str) -> list[QueryWord]:
    """The query split at spaces, commas and semicolons ("Bielefeld, Jahnplatz 5"); a
    house number's letter typed apart ("5 a") joins its number."""
    out: list[QueryWord] = []
    for m in _QUERY_WORD.finditer(text):
        raw = m.group(0)
        if any(c.isdigit() for c in raw):
            out.append(QueryWord(m.start(), len(raw), (), house_number(raw.strip(".-"))))
            continue
        prev = out[-1] if out else None
        if (prev is not None and prev.number and len(raw) == 1 and raw.isalpha()
                and prev.number[-1].isdigit()):
            out[-1] = QueryWord(prev.start, m.end() - prev.start, (),
                                prev.number + raw.casefold())
            continue
        # "E-Kinos", "McDonald's": one typed chunk, several words (same span each).
        split = [f.split(" ") for f in spellings(raw)]
        for k in range(max((len(p) for p in split), default=0)):
            forms = tuple(dict.fromkeys(e for p in split if k < len(p) for e in expansions(p[k])))
            out.append(QueryWord(m.start(), len(raw), forms, ""))
    return out


def word_count(text: str) -> int:
    """Words of a name in its first spelling: how many a query must match to cover it."""
    forms = spellings(text)
    return len(forms[0].split(" ")) if forms else 0
