"""Which records a query word names: a sorted vocabulary of words and their postings.

One :class:`WordIndex` serves stops, streets, places and areas alike. The vocabulary is
sorted, so a prefix is a binary-search range (over one byte array of the words, not a
Python string per word: :mod:`planner.places.vocab_search`); postings are CSR arrays
(word → record ids), so a word's records are one slice and many words' records one
``np.concatenate``, never a Python object per record. Typos go to rapidfuzz
(``process.extract`` with ``fuzz.ratio``, in C++, over the words that can reach its
cutoff, decoded for that lookup), and only for words that
neither equal nor begin any indexed word: rapidfuzz's Levenshtein ratio is the
well-kept implementation of what difflib's quadratic SequenceMatcher approximated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from planner.places.vocab_search import bisect_words, typo_candidates

#: Weights of a word's match, by how it matched (a prefix gains with the letters typed, up
#: to ``PREFIX_SURE_LEN``).
EXACT_W, PREFIX_W, PREFIX_GAIN, FUZZY_W = 1.0, 0.6, 0.3, 0.75
PREFIX_SURE_LEN = 6
FUZZY_CUTOFF = 75.0  # rapidfuzz ratio, 0..100
FUZZY_MIN_LEN = 3
MAX_PREFIX_WORDS = 4000  # a one-letter prefix must not touch the whole vocabulary
MAX_FUZZY_WORDS = 40

#: How a word matched, best first.
EXACT, PREFIX, FUZZY = 3, 2, 1


def compact_int(values: np.ndarray | Sequence[int]) -> np.ndarray:
    """The values in the narrowest signed integer type that holds them (int8 ... int64):
    ids and offsets of a small extract need not take four or eight bytes each."""
    arr = np.asarray(values)
    if arr.size == 0:
        return arr.astype(np.int32)
    lo, hi = int(arr.min()), int(arr.max())
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return arr.astype(dtype)
    return arr.astype(np.int64)


def encode_strings(values: Sequence[str], end: bytes = b"") -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of all strings back to back (each followed by ``end``) and their
    offsets (``n + 1``)."""
    raw = [v.encode() + end for v in values]
    offsets = np.zeros(len(raw) + 1, np.int64)
    np.cumsum([len(b) for b in raw], out=offsets[1:])
    return np.frombuffer(b"".join(raw), np.uint8).copy(), compact_int(offsets)


@dataclass(frozen=True)
class WordHits:
    """The records one query word matched: ids, weights and the best kind per record."""

    records: np.ndarray  # int, unique
    weights: np.ndarray  # float32
    kinds: np.ndarray  # int8 EXACT / PREFIX / FUZZY


class WordIndex:
    """Words → record ids (CSR), over a sorted vocabulary.

    The vocabulary is one byte array, each word followed by a newline, with the offsets
    of the words (``vocab``, ``vocab_offsets``): no Python string per word is held, the
    arrays may be memory-mapped, and a lookup compares a dozen words' bytes by binary
    search (words are ``[0-9a-z]`` only, see :func:`~planner.places.text.words`; the
    newline sorts before them, so the bytes sort as the words do)."""

    def __init__(self, vocab: np.ndarray, vocab_offsets: np.ndarray, offsets: np.ndarray,
                 postings: np.ndarray) -> None:
        self.vocab = vocab
        self.vocab_offsets = vocab_offsets
        self.offsets = np.asarray(offsets)
        self.postings = np.asarray(postings)
        self._bytes = np.ascontiguousarray(vocab).data.cast("B")
        self._starts = np.ascontiguousarray(vocab_offsets).data

    def __len__(self) -> int:
        return len(self._starts) - 1

    def word(self, i: int) -> str:
        return self._word(i)[:-1].decode()

    def _word(self, i: int) -> bytes:
        """Word ``i``'s bytes with its newline."""
        return self._bytes[self._starts[i]:self._starts[i + 1]].tobytes()

    @classmethod
    def build(cls, record_words: Iterable[Iterable[str]]) -> WordIndex:
        pairs: dict[str, list[int]] = {}
        for rec, ws in enumerate(record_words):
            for w in set(ws):
                pairs.setdefault(w, []).append(rec)
        vocab = sorted(pairs)
        counts = np.array([len(pairs[w]) for w in vocab], np.int64)
        offsets = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        postings = (np.concatenate([np.array(pairs[w], np.int64) for w in vocab])
                    if vocab else np.zeros(0, np.int32))
        blob, starts = encode_strings(vocab, b"\n")
        return cls(blob, starts, compact_int(offsets), compact_int(postings))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """What :meth:`from_arrays` reads back (for the disk cache)."""
        return {f"{prefix}_vocab": self.vocab, f"{prefix}_vocab_offsets": self.vocab_offsets,
                f"{prefix}_offsets": self.offsets, f"{prefix}_postings": self.postings}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> WordIndex:
        return cls(arrays[f"{prefix}_vocab"], arrays[f"{prefix}_vocab_offsets"],
                   arrays[f"{prefix}_offsets"], arrays[f"{prefix}_postings"])

    def _ranges(self, forms: Sequence[str], prefix: bool, fuzzy: bool
                ) -> list[tuple[int, int, np.ndarray, int]]:
        """(first word, end, weight per word, kind) of the vocabulary ranges the spellings
        match: an exact word, the words it begins (one contiguous range, as the vocabulary
        is sorted), or rapidfuzz's near misses."""
        out: list[tuple[int, int, np.ndarray, int]] = []
        n = len(self)
        blob, starts = self._bytes, self._starts
        for f in forms:
            key = f.encode()
            lo = bisect_words(blob, starts, key + b"\n", 0, False)
            if lo < n and self._word(lo) == key + b"\n":
                out.append((lo, lo + 1, np.array([EXACT_W], np.float32), EXACT))
                lo += 1
            if prefix:
                hi = min(bisect_words(blob, starts, key, lo, True), lo + MAX_PREFIX_WORDS)
                if hi > lo:
                    # The more letters typed, the surer; never by the completion's length
                    # ("H" is no better a start of "Hbf" than of "Hauptbahnhof").
                    w = PREFIX_W + PREFIX_GAIN * min(1.0, len(f) / PREFIX_SURE_LEN)
                    out.append((lo, hi, np.full(hi - lo, w, np.float32), PREFIX))
        if fuzzy and not out:
            for f in forms:
                if len(f) < FUZZY_MIN_LEN:
                    continue
                # Only the words that can reach the cutoff are decoded (the same matches
                # as over the whole vocabulary, in the same order).
                cand = typo_candidates(blob, starts, f.encode(), FUZZY_CUTOFF)
                for _, score, j in process.extract(f, [self.word(i) for i in cand],
                                                   scorer=fuzz.ratio,
                                                   score_cutoff=FUZZY_CUTOFF,
                                                   limit=MAX_FUZZY_WORDS):
                    i = cand[j]
                    # From ~0 at the cutoff to FUZZY_W for one slip in a long word: a
                    # near miss must not tie with a clear one ("Bilefeld": Bielefeld,
                    # not Bitterfeld).
                    w = FUZZY_W * max(0.05, (score - FUZZY_CUTOFF) / (100.0 - FUZZY_CUTOFF))
                    out.append((int(i), int(i) + 1, np.array([w], np.float32), FUZZY))
        return out

    def lookup(self, forms: Sequence[str], prefix: bool = True, fuzzy: bool = True
               ) -> WordHits:
        """The records whose words equal, begin with (``prefix``) or nearly equal
        (``fuzzy``, only when nothing equals or begins with it) one of ``forms``."""
        ranges = self._ranges(forms, prefix, fuzzy)
        if not ranges:
            z = np.zeros(0, np.int32)
            return WordHits(z, np.zeros(0, np.float32), np.zeros(0, np.int8))
        recs, weights, kinds = [], [], []
        for lo, hi, w, kind in ranges:
            a, b = int(self.offsets[lo]), int(self.offsets[hi])
            recs.append(self.postings[a:b])
            counts = np.diff(self.offsets[lo:hi + 1])
            weights.append(np.repeat(w, counts))
            kinds.append(np.full(b - a, kind, np.int8))
        records = np.concatenate(recs)
        weight = np.concatenate(weights)
        kind_ = np.concatenate(kinds)
        order = np.lexsort((-weight, records))  # best weight first within each record
        records, weight, kind_ = records[order], weight[order], kind_[order]
        first = np.ones(len(records), bool)
        first[1:] = records[1:] != records[:-1]
        return WordHits(records[first], weight[first], kind_[first])
