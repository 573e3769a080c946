"""Character n-gram features: the signal that reads Chinese and typos when a dense encoder cannot."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

# Character 1-3-grams inside word boundaries: Chinese has no spaces, so its n-grams span the phrase.
NGRAM_RANGE = (1, 3)


def hashed_ngrams(texts: list[str], n_features: int = 2**16) -> sparse.csr_matrix:
    """Stateless, L2-normalised character n-gram counts (nothing to save beside a model).

    N-grams run across word boundaries here: for classification, "my order" is a useful feature.
    """
    vectorizer = HashingVectorizer(analyzer="char", ngram_range=NGRAM_RANGE, n_features=n_features,
                                   alternate_sign=False, norm="l2", lowercase=True)
    return vectorizer.transform(texts).tocsr()


class LexicalScorer:
    """TF-IDF cosine similarity of character n-grams between queries and documents.

    The n-gram weights are fitted on `documents`; with `keep_documents=False` they serve as a sample
    of a larger collection and only `similarity` (against documents given per call) is available.
    """

    def __init__(self, documents: list[str], *, keep_documents: bool = True):
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True,
                                           lowercase=True)
        docs = self._vectorizer.fit_transform(documents).tocsr()
        self._docs = docs if keep_documents else None

    def scores(self, queries: list[str]) -> np.ndarray:
        """A (queries x documents) array of cosine similarities in [0, 1]."""
        if self._docs is None:
            raise ValueError("this scorer keeps no documents: use similarity(query, documents)")
        q = self._vectorizer.transform(queries)
        # Sparse documents times dense query columns: one pass over the documents' non-zeros (a sparse-sparse
        # product, or one with the transposed documents, costs several times more per call).
        return np.asarray(self._docs @ q.toarray().T, dtype=np.float32).T

    def similarity(self, query: str, documents: list[str]) -> np.ndarray:
        """Cosine similarities in [0, 1] between one query and the given documents."""
        if not documents:
            return np.zeros(0, dtype=np.float32)
        matrix = self._vectorizer.transform([query, *documents])
        return np.asarray((matrix[1:] @ matrix[0].T).todense(), dtype=np.float32).ravel()


def _hashed_counts(texts: list[str], n_features: int) -> sparse.csr_matrix:
    vectorizer = HashingVectorizer(analyzer="char", ngram_range=NGRAM_RANGE, n_features=n_features,
                                   alternate_sign=False, norm=None, lowercase=True)
    return vectorizer.transform(texts).tocsr()


def hashed_idf(texts: list[str], n_features: int) -> np.ndarray:
    """Smoothed inverse document frequencies of the hashed character n-grams of a training set."""
    counts = _hashed_counts(texts, n_features)
    document_frequency = np.bincount(counts.indices, minlength=n_features)
    return (np.log((1 + len(texts)) / (1 + document_frequency)) + 1.0).astype(np.float32)


def hashed_tfidf(texts: list[str], n_features: int, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF-IDF of hashed character n-grams, L2-normalised (the `idf` of `hashed_idf`)."""
    counts = _hashed_counts(texts, n_features)
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.where(norms == 0, 1.0, norms)) @ counts
