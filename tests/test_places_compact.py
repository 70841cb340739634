"""The places index's compact parts (issue 15 point 7) against what they replace.

* The vocabulary, one byte array with offsets, finds what ``bisect`` over the sorted
  list of words and rapidfuzz over every word find: the same exact and prefix ranges,
  and the same near misses in the same order (typo candidates are decoded only where
  the letter-count bound lets them reach the cutoff).
* Reverse geocoding's grid finds the same nearest points as measuring every point, near
  the extract and far from it, with ``below`` (addresses only) and a radius.
* The footprint counts each buffer once (views, a memory map under many arrays), and the
  index keeps no Python string per word.
"""

from __future__ import annotations

import random
import sys
from bisect import bisect_left
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz, process

from planner.multimodal.geometry import chord_to_m, unit_vectors
from planner.places.footprint import footprint
from planner.places.names import EXACT, FUZZY, FUZZY_CUTOFF, MAX_FUZZY_WORDS, PREFIX
from planner.places.osm_index import PlaceIndex, build_index, load_or_build
from tests.shared_data import shared

FRANKFURT = "gbfs-de-callabike-darmstadt/osm/frankfurt-darmstadt-test_case.osm.pbf"
OSLO = "gbfs-no-oslo-bysykkel/osm/oslo-east-filtered.osm.pbf"


@pytest.fixture(scope="module", params=[FRANKFURT, OSLO])
def index(request: pytest.FixtureRequest) -> PlaceIndex:
    return build_index([shared(request.param)])


def _words(ix: PlaceIndex) -> list[str]:
    return [ix.words.word(i) for i in range(len(ix.words))]


def _slip(word: str, rng: random.Random) -> str:
    """One letter dropped, doubled, swapped with the next or replaced."""
    j = rng.randrange(len(word))
    return rng.choice([word[:j] + word[j + 1:], word[:j] + word[j] + word[j:],
                       word[:j] + word[j + 1:j + 2] + word[j:j + 1] + word[j + 2:],
                       word[:j] + "q" + word[j + 1:]])


def test_the_vocabulary_is_sorted_and_finds_what_bisect_over_the_words_finds(
        index: PlaceIndex) -> None:
    vocab = _words(index)
    assert vocab == sorted(vocab) and len(set(vocab)) == len(vocab)
    rng = random.Random(7)
    for word in rng.sample(vocab, min(200, len(vocab))):
        for form in (word, word[:max(1, len(word) // 2)]):
            ranges = index.words._ranges([form], prefix=True, fuzzy=False)
            lo = bisect_left(vocab, form)
            exact = lo < len(vocab) and vocab[lo] == form
            hi = bisect_left(vocab, form + "\uffff")
            want = [(lo, lo + 1, EXACT)] if exact else []
            if hi > lo + exact:
                want.append((lo + exact, hi, PREFIX))
            assert [(a, b, k) for a, b, _, k in ranges] == want, form


def test_typos_find_what_rapidfuzz_over_every_word_finds(index: PlaceIndex) -> None:
    vocab = _words(index)
    rng = random.Random(11)
    checked = 0
    for word in rng.sample([w for w in vocab if len(w) >= 4], 150):
        slip = _slip(word, rng)
        ranges = index.words._ranges([slip], prefix=True, fuzzy=True)
        if any(k != FUZZY for *_, k in ranges):
            continue  # the slip is itself a word or begins one: no typo lookup
        want = [i for _, _, i in process.extract(slip, vocab, scorer=fuzz.ratio,
                                                 score_cutoff=FUZZY_CUTOFF,
                                                 limit=MAX_FUZZY_WORDS)]
        assert [a for a, *_ in ranges] == want, slip
        checked += 1
    assert checked >= 50


def _brute_nearest(ix: PlaceIndex, lat: float, lon: float, k: int, below: int | None,
                   radius: float | None) -> list[float]:
    y = np.concatenate([ix.addr_lat, ix.rec_lat]).astype(float)
    x = np.concatenate([ix.addr_lon, ix.rec_lon]).astype(float)
    if below is not None:
        y, x = y[:below], x[:below]
    p = unit_vectors(np.array([lat]), np.array([lon]))[0]
    d = np.sort(chord_to_m(np.linalg.norm(unit_vectors(y, x) - p, axis=1)))
    if radius is not None:
        d = d[d <= radius]
    return d[:k].tolist()


def test_the_grid_finds_the_nearest_points_as_measuring_every_point_does(
        index: PlaceIndex) -> None:
    rng = random.Random(3)
    lat = np.asarray(index.rec_lat, float)
    lon = np.asarray(index.rec_lon, float)
    n_addr = index.n_addresses
    for trial in range(300):
        i = rng.randrange(len(lat))
        spread = [1e-3, 1e-2, 0.3, 3.0][trial % 4]  # from next door to hundreds of km
        y = lat[i] + rng.uniform(-spread, spread)
        x = lon[i] + rng.uniform(-spread, spread)
        k = rng.choice([1, 5, 28])
        below = n_addr if trial % 3 == 0 and n_addr else None
        radius = rng.choice([None, 150.0, 1500.0])
        got = index.points.nearest(y, x, k, below=below, radius_m=radius)
        want = _brute_nearest(index, y, x, k, below, radius)
        assert [d for _, d in got] == pytest.approx(want, abs=1e-6), (y, x, k, below, radius)
        assert below is None or all(j < below for j, _ in got)


def test_the_footprint_counts_a_buffer_once_however_many_views_share_it() -> None:
    a = np.arange(10_000, dtype=np.int64)
    alone = footprint(a)
    assert alone >= a.nbytes
    views = footprint([a, a[10:], a[::2], a.view(np.uint8)])
    assert a.nbytes < views < alone + 4 * sys.getsizeof(a[10:]) + 200


def test_the_index_holds_no_python_string_per_word(index: PlaceIndex) -> None:
    w = index.words
    arrays = w.vocab.nbytes + w.vocab_offsets.nbytes + w.offsets.nbytes + w.postings.nbytes
    # A str per word would add 50 bytes or more each (its object and the list's pointer).
    assert footprint(w) - arrays < 10 * len(w)


def test_a_cached_index_is_one_mapping_counted_once(tmp_path: Path) -> None:
    path = [shared(FRANKFURT)]
    load_or_build(path, tmp_path)
    loaded = load_or_build(path, tmp_path)
    (entry,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    mapped = (entry / "arrays.bin").stat().st_size
    built = build_index(path)
    # The mapping once, plus array headers and Python objects: about the built index.
    assert mapped < loaded.nbytes < mapped + 40 * 1024
    assert abs(loaded.nbytes - built.nbytes) < 0.25 * built.nbytes
