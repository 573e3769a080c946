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


@dataclass(frozen=True)
class Hit:
    """One retrieved FAQ entry; `score` is the fused similarity the policy thresholds."""

    entry: FaqEntry
    score: float
    dense_score: float
    lexical_score: float

    @property
    def id(self) -> str:
        return self.entry.id


def fuse_scores(dense: np.ndarray, lexical: np.ndarray, lexical_weight: float) -> np.ndarray:
    """Hybrid score: a weighted mean of dense cosine and character n-gram cosine."""
    return (1.0 - lexical_weight) * dense + lexical_weight * lexical


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
        self._loaded = (index, entries, LexicalScorer([e.question for e in entries]), langs)

    @property
    def meta(self) -> dict:
        self.warm_up()
        return self._loaded[0].meta

    def search(self, text: str, k: int = 5, lang: str | None = None) -> list[Hit]:
        """The k best entries for `text`, in its language when the shop has entries in it."""
        self.warm_up()
        index, entries, lexical, langs = self._loaded
        lang = lang or detect_language(text)
        dense = np.full(len(entries), -1.0, dtype=np.float32)
        # Dense scores for a generous candidate pool; everything else keeps the floor of -1.
        scores, ids = index.search(self.embedder.encode([text], kind="query"), k=max(50, 4 * k))
        valid = ids[0] >= 0
        dense[ids[0][valid]] = scores[0][valid]
        lex = lexical.scores([text])[0]
        fused = fuse_scores(dense, lex, self.lexical_weight)
        if (langs == lang).any():
            fused = np.where(langs == lang, fused, -np.inf)
        order = np.argsort(-fused, kind="stable")[:k]
        return [Hit(entries[i], float(fused[i]), float(dense[i]), float(lex[i])) for i in order if np.isfinite(fused[i])]
