"""A customer message in, the shop's best historical answers out: dense FAISS search fused with
character n-grams, preferring entries in the message's language."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.embedder import Embedder
from retrieval.faq_index import FaqIndex
from retrieval.index import IndexParams, id_selector
from retrieval.knowledge import FaqEntry
from retrieval.language import detect_language
from retrieval.lexical import LexicalScorer

# Up to this many entries every entry gets its dense and lexical score (~2 ms per message at 20k).
EXACT_POOL = 20_000


@dataclass(frozen=True)
class Hit:
    """One retrieved FAQ entry; `score` is the fused similarity the policy thresholds (without any prior)."""

    entry: FaqEntry
    score: float
    dense_score: float
    lexical_score: float

    @property
    def id(self) -> str:
        return self.entry.id


def fuse_scores(dense: np.ndarray, lexical: np.ndarray, lexical_weight: float,
                unknown_fraction: float = 0.0) -> np.ndarray:
    """Hybrid similarity: a weighted mean of dense cosine and character n-gram cosine.

    The lexical share grows with the share of the message the encoder cannot read, so an English
    encoder facing Chinese leans on character n-grams, and a multilingual one does not.
    """
    weight = lexical_weight + (1.0 - lexical_weight) * unknown_fraction
    return (1.0 - weight) * dense + weight * lexical


def build_index(entries: list[FaqEntry], embedder: Embedder, folder: Path, *, knowledge_hash: str,
                progress: bool = False, params: IndexParams | None = None) -> FaqIndex:
    """Embed every entry's question and save the index with its entries in `folder`."""
    faq = FaqIndex.build(entries, embedder, knowledge_hash=knowledge_hash, params=params, progress=progress)
    faq.save(folder)
    return faq


@dataclass(frozen=True)
class _Loaded:
    faq: FaqIndex
    entries: list[FaqEntry]
    position: np.ndarray  # key -> row of `entries` (-1: none)
    langs: np.ndarray
    texts: list[str]
    lexical: LexicalScorer | None  # None for an empty index
    exact: bool  # every entry gets a dense and a lexical score (else: the dense candidate pool only)
    by_lang: dict[str, tuple]
    vectors: np.ndarray | None  # the entries' vectors in `entries` order (exact mode only)


class Retriever:
    """Top-k FAQ entries for a message.

    Over an exact (flat) index of up to `exact_pool` entries every entry is scored (dense and lexical);
    otherwise the index proposes a candidate pool (`pool` entries, at least 10 per hit asked) that the lexical
    signal, the intent prior and the language then re-rank.

    Args:
        folder: an index folder written by `build_index` / `FaqIndex.save`.
        embedder: the embedder the index was built with (checked against `meta.json`).
        lexical_weight: weight of the character n-gram score in the fused score.
        params: index settings (a forced index type is checked; search-time knobs applied).

    Example:
        >>> hits = Retriever(folder, embedder).search("where is my parcel?", k=3)
        >>> hits[0].entry.answer
    """

    def __init__(self, folder: Path, embedder: Embedder, *, lexical_weight: float = 0.5,
                 params: IndexParams | None = None, exact_pool: int = EXACT_POOL, pool: int = 100):
        self.folder = Path(folder)
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.params = params
        self.exact_pool = exact_pool
        self.pool = pool
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._lang_vectors: dict[str, np.ndarray] = {}

    def warm_up(self) -> None:
        """Open the index, its entries and the lexical scorer (done on the first search otherwise)."""
        if self._loaded is not None:
            return
        faq = FaqIndex.open(self.folder, self.embedder, self.params)
        keys, entries = faq.keyed()
        position = np.full(int(keys.max()) + 1 if len(keys) else 0, -1, dtype=np.int64)
        position[keys] = np.arange(len(keys))
        # Answers add the words a paraphrase may share with the entry but not with its question.
        texts = [f"{e.question} {e.answer}" for e in entries]
        exact = faq.index.kind == "flat" and len(entries) <= self.exact_pool
        if not entries:
            lexical = None
        elif exact:
            lexical = LexicalScorer(texts)
        else:  # n-gram weights from a sample: the same statistics, without a matrix of every entry
            sample = np.random.default_rng(0).choice(len(texts), min(len(texts), self.exact_pool), replace=False)
            lexical = LexicalScorer([texts[i] for i in sample], keep_documents=False)
        langs = np.array([e.lang for e in entries])
        # Per language, the keys of its entries: a pool without the message's language searches again in it
        # (pool mode only; exact mode scores every entry).
        by_lang = {} if exact else {lang: id_selector(keys[langs == lang], exclude=False) for lang in set(langs.tolist())}
        vectors = faq.index.vectors(keys) if exact else None
        self._loaded = _Loaded(faq, entries, position, langs, texts, lexical, exact, by_lang, vectors)

    def _search_language(self, query: np.ndarray, lang: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k among one language's entries: exactly over their vectors when they are few (a graph search
        through a filter that lets few entries pass can stop before it reaches them), else filtered."""
        loaded = self._loaded
        keys = np.flatnonzero(loaded.position >= 0)
        keys = keys[loaded.langs[loaded.position[keys]] == lang]
        if len(keys) > self.exact_pool:
            return loaded.faq.index.search(query, k=k, only=loaded.by_lang[lang])
        with self._lock:
            if lang not in self._lang_vectors:
                self._lang_vectors[lang] = loaded.faq.index.vectors(keys)
        scores = self._lang_vectors[lang] @ query[0]
        order = np.argsort(-scores)[:k]
        return scores[order][None, :], keys[order][None, :]

    @property
    def meta(self) -> dict:
        self.warm_up()
        return self._loaded.faq.meta

    def search(self, text: str, k: int = 5, lang: str | None = None, intent_prior: dict[str, float] | None = None,
               prior_weight: float = 0.2) -> list[Hit]:
        """The k best entries for `text`, in its language when the shop has entries in it.

        `intent_prior` (intent -> probability, from a classifier) adds `prior_weight * p(entry's intent)`
        to each entry's score, so entries of the intent the message most likely has come first.
        """
        self.warm_up()
        loaded = self._loaded
        if not loaded.entries:
            return []
        lang = lang or detect_language(text)
        query = self.embedder.encode([text], kind="query")
        if loaded.exact:
            # Every entry's cosine at once: one BLAS product beats a FAISS top-k over all of them.
            rows = np.arange(len(loaded.entries))
            dense = loaded.vectors @ query[0]
            lex = loaded.lexical.scores([text])[0]
        else:
            pool = max(self.pool, 10 * k)
            scores, keys = loaded.faq.index.search(query, k=pool)
            if lang in loaded.by_lang and not (loaded.langs[loaded.position[keys[0][keys[0] >= 0]]] == lang).any():
                scores, keys = self._search_language(query, lang, pool)
            found = keys[0] >= 0
            rows = loaded.position[keys[0][found]]
            dense = scores[0][found]
            lex = loaded.lexical.similarity(text, [loaded.texts[i] for i in rows])
        similarity = fuse_scores(dense, lex, self.lexical_weight, self.embedder.unknown_fraction(text))
        rank = similarity.copy()
        if intent_prior:
            rank += prior_weight * np.array([intent_prior.get(loaded.entries[i].intent, 0.0) for i in rows],
                                            dtype=np.float32)
        langs = loaded.langs[rows]
        if (langs == lang).any():
            rank = np.where(langs == lang, rank, -np.inf)
        if len(rank) > 4 * k:  # only the best k need sorting
            top = np.argpartition(-rank, k)[:k]
            order = top[np.argsort(-rank[top], kind="stable")]
        else:
            order = np.argsort(-rank, kind="stable")[:k]
        return [Hit(loaded.entries[rows[i]], float(similarity[i]), float(dense[i]), float(lex[i])) for i in order
                if np.isfinite(rank[i])]
