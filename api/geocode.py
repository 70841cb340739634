"""Stop search by name: exact > prefix > word prefix > fuzzy, umlaut- and case-insensitive.

Every name is indexed in two spellings, German transliteration ("Gütersloh" →
"guetersloh") and plain accent stripping ("gutersloh"), and so is the query, so both
"guetersloh" and "gutersloh" find "Gütersloh Hbf". Child platforms that share their
parent's name collapse into the parent, and stops with service rank above those without.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from planner.timetable.model import Timetable

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe",
                         "œ": "oe", "å": "aa"})
_PLAIN = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l"})
_NON_WORD = re.compile(r"[^0-9a-z]+")

EXACT, PREFIX, WORD_PREFIX, FUZZY = 4, 3, 2, 1
KIND_NAMES = {EXACT: "exact", PREFIX: "prefix", WORD_PREFIX: "word-prefix", FUZZY: "fuzzy"}


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def spellings(text: str) -> tuple[str, ...]:
    """Normalised forms of ``text``: lower case, words joined by single spaces."""
    low = unicodedata.normalize("NFC", text).casefold()
    forms = []
    for table in (_GERMAN, _PLAIN):
        s = _NON_WORD.sub(" ", _strip_accents(low.translate(table))).strip()
        if s and s not in forms:
            forms.append(s)
    return tuple(forms)


@dataclass(frozen=True)
class Match:
    stop: int
    kind: int
    score: float


class StopSearch:
    """An in-memory name index over a timetable's stops (built once per timetable)."""

    def __init__(self, tt: Timetable) -> None:
        n = tt.n_stops
        parent = np.asarray(tt.stop_parent)
        served = np.diff(np.asarray(tt.stop_route_offset)) > 0
        # A station counts as served when any of its platforms is.
        has_child = np.zeros(n, dtype=bool)
        child_served = np.zeros(n, dtype=bool)
        kids = np.nonzero(parent >= 0)[0]
        has_child[parent[kids]] = True
        np.logical_or.at(child_served, parent[kids], served[kids])
        self.served = served | child_served
        self.is_station = has_child
        self.parent = parent
        names = [str(x) for x in tt.stop_names]
        # Collapse a platform into its parent when the parent carries the same name.
        self.entries: list[tuple[int, tuple[str, ...]]] = []
        for i, name in enumerate(names):
            p = int(parent[i])
            if p >= 0 and spellings(names[p]) == spellings(name):
                continue
            forms = spellings(name)
            if forms:
                self.entries.append((i, forms))
        self.names = names
        token_id: dict[str, int] = {}
        self.entry_tokens: list[list[int]] = []
        for _, forms in self.entries:
            toks = {t for f in forms for t in (f, *f.split(" "))}
            self.entry_tokens.append([token_id.setdefault(t, len(token_id)) for t in toks])
        self.tokens = list(token_id)

    def _kind(self, query: tuple[str, ...], forms: tuple[str, ...]) -> int:
        best = 0
        for q in query:
            q_words = q.split(" ")
            for f in forms:
                if f == q:
                    return EXACT
                if f.startswith(q):
                    best = max(best, PREFIX)
                elif best < WORD_PREFIX:
                    words = f.split(" ")
                    if all(any(w.startswith(qw) for w in words) for qw in q_words):
                        best = WORD_PREFIX
        return best

    def _fuzzy_scores(self, query: tuple[str, ...], cutoff: float) -> dict[int, float]:
        """Best similarity of the query to each token (whole names and single words).

        Tokens are shared between stops, so each distinct string is compared once; the
        query is ``seq2`` because SequenceMatcher caches its analysis of ``seq2``.
        """
        scores: dict[int, float] = {}
        for q in query:
            m = difflib.SequenceMatcher(None, autojunk=False)
            m.set_seq2(q)
            for tid, tok in enumerate(self.tokens):
                m.set_seq1(tok)
                best = scores.get(tid, 0.0)
                floor = max(best, cutoff)
                if m.real_quick_ratio() < floor or m.quick_ratio() < floor:
                    continue
                r = m.ratio()
                if r > best:
                    scores[tid] = r
        return scores

    def search(self, text: str, limit: int = 10, fuzzy_cutoff: float = 0.75) -> list[Match]:
        query = spellings(text)
        if not query:
            return []
        found: list[Match] = []
        rest: list[int] = []
        for k, (stop, forms) in enumerate(self.entries):
            kind = self._kind(query, forms)
            if kind:
                found.append(Match(stop, kind, float(kind)))
            else:
                rest.append(k)
        if len(found) < limit and len(query[0]) >= 3:
            scores = self._fuzzy_scores(query, fuzzy_cutoff)
            for k in rest:
                sim = max((scores.get(t, 0.0) for t in self.entry_tokens[k]), default=0.0)
                if sim >= fuzzy_cutoff:
                    found.append(Match(self.entries[k][0], FUZZY, FUZZY * sim))

        def rank(m: Match) -> tuple[float, int, int, int, str]:
            return (-m.score, -int(self.served[m.stop]), -int(self.is_station[m.stop]),
                    len(self.names[m.stop]), self.names[m.stop])

        found.sort(key=rank)
        return found[:limit]
