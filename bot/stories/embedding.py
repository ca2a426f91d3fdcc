"""Optional static embeddings (the `model` extra): WordLlama's bundled weights, loaded with no network access.

WordLlama's own loader looks for its tokenizer in a folder the wheel does not ship and then downloads it;
we read the two files the wheel does ship (weights and tokenizer) directly instead.
"""

from __future__ import annotations

import importlib.util
import logging
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_MAX_WORDS = 200_000

# A numpy float32 array; typed loosely so the core imports no numpy when the extra is absent.
Vector = Any


class Embedder(Protocol):
    dim: int

    def embed(self, texts: list[str]) -> list[Vector]:
        """Unit vectors, one per text."""
        ...


class WordLlamaEmbedder:
    """Average of the tokens' static vectors, normalised: about 30k headlines a second on one core."""

    def __init__(self, package_dir: Path) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self._np = np
        self._matrix: Any = np.ascontiguousarray(
            load_file(str(package_dir / _WEIGHTS))["embedding.weight"], dtype=np.float32
        )
        self._tokenizer = Tokenizer.from_file(str(package_dir / _TOKENIZER))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.dim = int(self._matrix.shape[1])
        # The tokenizer turns spaces into '▁' and no token has a '▁' after other characters, so a text's
        # ids are its space-separated words' ids in a row: each word is encoded once and remembered.
        vocab = self._tokenizer.get_vocab()
        self._by_word = not any("▁" in t.lstrip("▁") for t in vocab)
        self._words: dict[str, list[int]] = {}

    def _ids(self, texts: list[str]) -> list[list[int]]:
        if len(texts) == 1 and self._by_word:
            # The engine's usual call: one text whose words are all known.
            try:
                return [list(chain.from_iterable(map(self._words.__getitem__, texts[0].split(" "))))]
            except KeyError:
                pass
        # Runs of spaces have tokens of their own ('▁▁'): such rare texts go to the tokenizer whole.
        whole = [
            i for i, t in enumerate(texts) if not self._by_word or "  " in t or t[:1] == " " or t[-1:] == " "
        ]
        out: list[list[int]] = [[] for _ in texts]
        for i in whole:
            out[i] = self._tokenizer.encode(texts[i], add_special_tokens=False).ids
        if len(whole) == len(texts):
            return out
        whole_set = set(whole)
        words = self._words
        split = [[] if i in whole_set else text.split(" ") if text else [] for i, text in enumerate(texts)]
        missing = list(set(chain.from_iterable(split)).difference(words))
        if missing:
            if len(words) + len(missing) > _MAX_WORDS:
                words.clear()
                missing = list(set(chain.from_iterable(split)))
            # One word at a time: encode_batch wakes a thread pool, which costs more than a few words do.
            encode = self._tokenizer.encode
            for word in missing:
                words[word] = encode(word, add_special_tokens=False).ids
        lookup = words.__getitem__
        for i, parts in enumerate(split):
            if parts:
                out[i] = list(chain.from_iterable(map(lookup, parts)))
        return out

    def embed(self, texts: list[str]) -> list[Vector]:
        np = self._np
        if not texts:
            return []
        ids = self._ids(texts)
        if len(texts) == 1:
            # One text (the engine embeds on demand): its rows are few enough to stay in cache.
            sums = np.zeros((1, self.dim), dtype=np.float32)
            if ids[0]:
                sums[0] = np.add.reduceat(self._matrix[ids[0]], [0], axis=0)[0]
        else:
            lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
            flat = np.fromiter((t for i in ids for t in i), dtype=np.int64, count=int(lengths.sum()))
            # One gather and one segmented sum for the whole batch (each text's sum is the same as alone).
            sums = np.zeros((len(texts), self.dim), dtype=np.float32)
            filled = lengths > 0
            if flat.size:
                starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[filled]
                sums[filled] = np.add.reduceat(self._matrix[flat], starts, axis=0)
        out: list[Vector] = []
        for vec in sums:
            norm = float(np.sqrt(vec @ vec))
            out.append(vec / norm if norm > 0.0 else vec)
        return out


def load_embedder(choice: str = "auto") -> Embedder | None:
    """The configured model, or None when it is off or not installed (the engine then runs lexical only)."""
    if choice == "none":
        return None
    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        if choice == "wordllama":
            raise RuntimeError("engine.model = 'wordllama' needs the extra: pip install 'storywatch[model]'")
        return None
    package_dir = Path(spec.origin).parent
    if not (package_dir / _WEIGHTS).is_file() or not (package_dir / _TOKENIZER).is_file():
        log.warning("wordllama is installed without its bundled weights; running lexical only")
        return None
    try:
        return WordLlamaEmbedder(package_dir)
    except ImportError:
        if choice == "wordllama":
            raise
        return None
