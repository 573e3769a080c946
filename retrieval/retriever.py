"""A customer message in, the shop's best historical answers out: dense FAISS search fused with
character n-grams, preferring entries in the message's language."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.embedder import Embedder
from retrieval.errors import IndexMismatchError
from retrieval.index import FaissIndex
from retrieval.knowledge import FaqEntry
from retrieval.language import detect_language
from retrieval.lexical import LexicalScorer

ENTRIES_FILE = "entries.jsonl"
# Up to this many entries every entry gets its dense score (one exact search costs well under 1 ms).
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
                progress: bool = False) -> FaissIndex:
    """Embed every entry's question and save the index with its entries in `folder`."""
    vectors = embedder.encode([e.question for e in entries], kind="query", progress=progress)
    index = FaissIndex.build(vectors, np.arange(len(entries)), meta={
        "embedder": embedder.name, "knowledge_hash": knowledge_hash})
    index.save(folder)
    with open(folder / ENTRIES_FILE, "w", encoding="utf-8") as out:
        for entry in entries:
            out.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
    return index


class Retriever:
    """Top-k FAQ entries for a message.

    Args:
        folder: an index folder written by `build_index`.
        embedder: the embedder the index was built with (checked against `meta.json`).
        lexical_weight: weight of the character n-gram score in the fused score.

    Example:
        >>> hits = Retriever(folder, embedder).search("where is my parcel?", k=3)
        >>> hits[0].entry.answer
    """

    def __init__(self, folder: Path, embedder: Embedder, *, lexical_weight: float = 0.5):
        self.folder = Path(folder)
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self._loaded: tuple[FaissIndex, list[FaqEntry], LexicalScorer, np.ndarray] | None = None

    def warm_up(self) -> None:
        """Open the index, its entries and the lexical scorer (done on the first search otherwise)."""
        if self._loaded is not None:
            return
        index = FaissIndex.load(self.folder, expect={"embedder": self.embedder.name})
        path = self.folder / ENTRIES_FILE
        if not path.is_file():
            raise IndexMismatchError(f"{path} is missing: run `assistant index build`")
        entries = [FaqEntry(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
        if len(entries) != index.count:
            raise IndexMismatchError(f"{path} has {len(entries)} entries, the index {index.count}: "
                                     "run `assistant index build`")
        langs = np.array([e.lang for e in entries])
        # Answers add the words a paraphrase may share with the entry but not with its question.
        lexical = LexicalScorer([f"{e.question} {e.answer}" for e in entries])
        self._loaded = (index, entries, lexical, langs)

    @property
    def meta(self) -> dict:
        self.warm_up()
        return self._loaded[0].meta

    def search(self, text: str, k: int = 5, lang: str | None = None, intent_prior: dict[str, float] | None = None,
               prior_weight: float = 0.2) -> list[Hit]:
        """The k best entries for `text`, in its language when the shop has entries in it.

        `intent_prior` (intent -> probability, from a classifier) adds `prior_weight * p(entry's intent)`
        to each entry's score, so entries of the intent the message most likely has come first.
        """
        self.warm_up()
        index, entries, lexical, langs = self._loaded
        lang = lang or detect_language(text)
        # Dense scores for every entry of a shop-sized index; for a large one, a generous candidate pool
        # with the pool's lowest score standing in for the entries outside it.
        pool = index.count if index.count <= EXACT_POOL else max(50, 4 * k)
        scores, ids = index.search(self.embedder.encode([text], kind="query"), k=pool)
        valid = ids[0] >= 0
        dense = np.full(len(entries), float(scores[0][valid].min()) if valid.any() else 0.0, dtype=np.float32)
        dense[ids[0][valid]] = scores[0][valid]
        lex = lexical.scores([text])[0]
        similarity = fuse_scores(dense, lex, self.lexical_weight, self.embedder.unknown_fraction(text))
        rank = similarity.copy()
        if intent_prior:
            rank += prior_weight * np.array([intent_prior.get(e.intent, 0.0) for e in entries], dtype=np.float32)
        if (langs == lang).any():
            rank = np.where(langs == lang, rank, -np.inf)
        order = np.argsort(-rank, kind="stable")[:k]
        return [Hit(entries[i], float(similarity[i]), float(dense[i]), float(lex[i])) for i in order
                if np.isfinite(rank[i])]
