"""How close drafted replies are to the agents' answers: chrF (corpus level) and ROUGE-L (mean F1).

chrF follows Popović (2015) as sacreBLEU computes it by default (chrF2: character n-grams of orders 1-6
without whitespace, match counts summed over the corpus, precision and recall averaged over the orders,
then F with beta = 2). ROUGE-L is the F1 of the longest common subsequence of tokens: lowercased words
for Latin script, single characters for Chinese, so both languages are measured alike.
"""

from __future__ import annotations

from collections import Counter

from assistant.guard import words


def chrf(hypotheses: list[str], references: list[str], *, order: int = 6, beta: float = 2.0) -> float:
    """Corpus chrF in [0, 100].

    Example:
        >>> round(chrf(["the cat sat"], ["the cat sat"]), 1)
        100.0
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    matches, hyp_total, ref_total = [0] * order, [0] * order, [0] * order
    for hypothesis, reference in zip(hypotheses, references):
        hyp, ref = "".join(hypothesis.split()), "".join(reference.split())
        for n in range(1, order + 1):
            h, r = _ngrams(hyp, n), _ngrams(ref, n)
            matches[n - 1] += sum((h & r).values())
            hyp_total[n - 1] += sum(h.values())
            ref_total[n - 1] += sum(r.values())
    orders = [i for i in range(order) if hyp_total[i] and ref_total[i]]
    if not orders:
        return 0.0
    precision = sum(matches[i] / hyp_total[i] for i in orders) / len(orders)
    recall = sum(matches[i] / ref_total[i] for i in orders) / len(orders)
    if precision + recall == 0:
        return 0.0
    return 100 * (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def rouge_l(hypotheses: list[str], references: list[str]) -> float:
    """Mean ROUGE-L F1 over the pairs, in [0, 100]."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    if not hypotheses:
        return 0.0
    scores = []
    for hypothesis, reference in zip(hypotheses, references):
        h, r = words(hypothesis), words(reference)
        lcs = _lcs(h, r)
        scores.append(0.0 if lcs == 0 else 2 * lcs / (len(h) + len(r)))
    return 100 * sum(scores) / len(scores)


def _ngrams(text: str, n: int) -> Counter:
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]
