"""Optional static embeddings (the `model` extra): WordLlama's bundled weights, loaded with no network access.

WordLlama's own loader looks for its tokenizer in a folder the wheel does not ship and then downloads it;
we read the two files the wheel does ship (weights and tokenizer) directly instead.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"

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

    def embed(self, texts: list[str]) -> list[Vector]:
        np = self._np
        out: list[Vector] = []
        for encoding in self._tokenizer.encode_batch(texts, add_special_tokens=False):
            ids = encoding.ids
            if not ids:
                out.append(np.zeros(self.dim, dtype=np.float32))
                continue
            vec = self._matrix[ids].mean(axis=0)
            norm = float(np.linalg.norm(vec))
            out.append(vec / norm if norm > 0 else vec)
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
