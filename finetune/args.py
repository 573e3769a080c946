"""Training arguments that validate themselves, with a tiny preset for tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RouterTrainingArgs:
    """How the router's linear heads are trained on frozen features.

    Example:
        >>> RouterTrainingArgs(intent_c=10.0).holdout_fraction
        0.2
    """

    # Inverse L2 strength of the intent head's logistic regression (larger: fits the seed data closer).
    intent_c: float = 30.0
    # The same for the sentiment head, trained with balanced class weights.
    sentiment_c: float = 7.5
    # Share of the labelled messages held out (stratified by intent) to measure accuracy before the final fit.
    holdout_fraction: float = 0.2
    # Seed of the hold-out split.
    seed: int = 0
    # Buckets of hashed character n-grams appended to the sentence embedding.
    n_features: int = 2**16
    # Solver iterations; lbfgs converges well before this on a few thousand messages.
    max_iter: int = 2000

    def __post_init__(self):
        if self.intent_c <= 0 or self.sentiment_c <= 0:
            raise ValueError(f"intent_c and sentiment_c must be > 0, got {self.intent_c} and {self.sentiment_c}")
        if not 0.0 <= self.holdout_fraction < 0.9:
            raise ValueError(f"holdout_fraction must be in [0, 0.9), got {self.holdout_fraction}")
        if self.n_features < 2**8 or self.n_features & (self.n_features - 1):
            raise ValueError(f"n_features must be a power of two >= 256, got {self.n_features}")
        if self.max_iter < 10:
            raise ValueError(f"max_iter must be at least 10, got {self.max_iter}")

    @classmethod
    def tiny(cls) -> "RouterTrainingArgs":
        """Seconds on any machine: for tests."""
        return cls(n_features=2**12, max_iter=300)

    def to_dict(self) -> dict:
        return asdict(self)
