"""The engine's parts: term-at-a-time scores equal centroid cosines; copies, tokens, slugs, model ids."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from bot.stories.index import Centroid, DenseRows, TermIndex, lightest
from bot.stories.leads import slug_words
from bot.stories.text import tokenize
from bot.stories.vectors import dot, is_copy, normalize


def _vectors(n: int, seed: int = 3) -> list[dict[str, float]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(60)]
    return [normalize({w: rng.random() for w in rng.sample(words, 12)}) for _ in range(n)]


def test_postings_score_like_the_centroids_they_copy() -> None:
    vectors = _vectors(40)
    index = TermIndex()
    centroids = {cid: Centroid() for cid in range(5)}
    for k, vec in enumerate(vectors[:30]):
        cid = k % 5
        centroids[cid].add(vec)
        index.add(cid, vec)
    dropped = centroids[2].prune(10)
    index.remove(2, dropped)
    for article in vectors[30:]:
        dots = index.dots(article)
        for cid, centroid in centroids.items():
            expected = centroid.cosine(article)
            got = dots.get(cid, 0.0) / math.sqrt(centroid.norm2)
            assert got == pytest.approx(expected, abs=1e-12)


def test_prune_keeps_the_heaviest_terms_and_its_norm() -> None:
    centroid = Centroid()
    centroid.add({"a": 0.9, "b": 0.1, "c": 0.4, "d": 0.2})
    assert sorted(centroid.prune(2)) == ["b", "d"]
    assert set(centroid.terms) == {"a", "c"}
    assert centroid.norm2 == pytest.approx(0.9**2 + 0.4**2)
    assert sorted(lightest({"y": 1.0, "x": 1.0, "z": 0.5, "w": 1.0}, 2)) == ["y", "z"], "ties broken by term"


def test_copy_test_agrees_with_the_dot_product() -> None:
    vectors = _vectors(30, seed=5)
    near = dict(vectors[0])
    near["w0"] = near.get("w0", 0.0) + 0.05
    pairs = [(a, b) for a in vectors[:10] for b in vectors[10:]] + [(vectors[0], normalize(near))]
    for a, b in pairs:
        for threshold in (0.3, 0.8):
            assert is_copy(a, b, threshold) == (dot(a, b) >= threshold)


def test_dense_rows_reuse_freed_slots() -> None:
    np = pytest.importorskip("numpy")
    rows = DenseRows()
    unit = np.array([1.0, 0.0], dtype=np.float32)
    rows.set(1, np.array([2.0, 0.0], dtype=np.float32))
    rows.set(2, np.array([0.0, 3.0], dtype=np.float32))
    assert rows.cosines([1, 2, 3], unit) == [pytest.approx(1.0), pytest.approx(0.0), None]
    rows.remove(1)
    rows.set(4, np.array([1.0, 1.0], dtype=np.float32))
    assert rows.cosines([4], unit) == [pytest.approx(math.sqrt(0.5))]
    assert rows.cosine_array([2, 3], unit) is None, "every listed cluster needs a vector"


def test_sentence_ends_and_title_case() -> None:
    tokens = tokenize("Talks end! Kim leaves Hanoi; Trump says U.S. will wait")
    blind = {t.surface for t in tokens if t.case_blind}
    assert blind == {"Talks", "Kim", "Trump"}
    named = {t.surface for t in tokens if t.entity}
    assert {"Hanoi", "U.S."} <= named and "Kim" not in named
    headline = tokenize("Fed Raises Interest Rates Again")
    assert all(t.case_blind for t in headline), "Title Case says nothing of names"


@pytest.mark.parametrize(
    ("url", "title", "expected"),
    [
        (
            "http://news.invalid/2014/03/10/5037718/mcdonalds-february-us-sales-chilled.html",
            "McDonald's struggles worsened by snow",
            "february us sales chilled",
        ),
        ("https://news.invalid/world-69544893", "Anything", ""),
        ("https://news.invalid/a/b?utm=one-two-three-four", "Anything", ""),
        ("https://news.invalid/fed-raises-rates-again", "Fed raises rates again", ""),
        ("", "Anything", ""),
    ],
)
def test_slug_words(url: str, title: str, expected: str) -> None:
    assert slug_words(url, title) == expected


def test_model_ids_by_word_match_the_tokenizer() -> None:
    pytest.importorskip("wordllama", reason="the model extra is not installed")
    from bot.stories.embedding import WordLlamaEmbedder, load_embedder

    embedder = load_embedder("wordllama")
    assert isinstance(embedder, WordLlamaEmbedder)
    seeds = Path(__file__).resolve().parents[3] / "seeds"
    texts = ["North Korea's Kim, in Hanoi: talks end", "a  b", " lead", "trail ", "", "x\ny", "0.75%"]
    texts += [json.dumps(p.name) for p in sorted(seeds.rglob("*"))[:20]]
    whole = [e.ids for e in embedder._tokenizer.encode_batch(texts, add_special_tokens=False)]
    assert embedder._ids(texts) == whole
    assert [embedder._ids([t])[0] for t in texts] == whole
    # A text's vector is the same to the bit alone or in a batch: restarts move batch boundaries.
    batch = embedder.embed(texts)
    for text, vector in zip(texts, batch, strict=True):
        assert (embedder.embed([text])[0] == vector).all()
