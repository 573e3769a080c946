"""Training arguments that validate themselves, with a tiny preset for tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass


def _check_linear(args) -> None:
    """What the linear models' arguments share: a held-out share, hashed n-gram buckets, solver iterations."""
    if not 0.0 <= args.holdout_fraction < 0.9:
        raise ValueError(f"holdout_fraction must be in [0, 0.9), got {args.holdout_fraction}")
    if args.n_features < 2**8 or args.n_features & (args.n_features - 1):
        raise ValueError(f"n_features must be a power of two >= 256, got {args.n_features}")
    if args.max_iter < 10:
        raise ValueError(f"max_iter must be at least 10, got {args.max_iter}")


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
        _check_linear(self)

    @classmethod
    def tiny(cls) -> "RouterTrainingArgs":
        """Seconds on any machine: for tests."""
        return cls(n_features=2**12, max_iter=300)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReviewTrainingArgs:
    """How the review sentiment model is trained (`finetune.reviews.train_review_model`).

    Example:
        >>> ReviewTrainingArgs(c=3.0).n_features
        1048576
    """

    # Inverse L2 strength of the logistic regression (10 was best of 3/10/30 on 50k Chinese reviews).
    c: float = 10.0
    # Share of the labelled reviews held out (stratified by label) to measure accuracy before the final fit.
    holdout_fraction: float = 0.2
    # Seed of the hold-out split.
    seed: int = 0
    # Buckets of hashed character 1-3-grams (2^20: collisions cost nothing measurable on 50k reviews).
    n_features: int = 2**20
    # Join the multilingual encoder's sentence embedding to the n-grams: +2.7 points with 3,000 labelled
    # reviews, but reading falls from thousands to ~26 reviews a second on two cores.
    encoder: bool = False
    # Solver iterations.
    max_iter: int = 3000

    def __post_init__(self):
        if self.c <= 0:
            raise ValueError(f"c must be > 0, got {self.c}")
        _check_linear(self)

    @classmethod
    def tiny(cls) -> "ReviewTrainingArgs":
        """Seconds on any machine: for tests."""
        return cls(n_features=2**14, max_iter=300)

    def to_dict(self) -> dict:
        return asdict(self)


MODES = ("finetune", "lora", "head")


@dataclass(frozen=True)
class ClassifierTrainingArgs:
    """How the intent and sentiment classifier is trained (see `finetune.classifier`).

    The recipe: a linear head per task warm-started from logistic regression on the frozen encoder's
    sentence vectors, then the encoder and heads trained together (or only LoRA adapters and heads),
    with early stopping on the dev split's macro-F1. `mode="head"` stops after the warm start.

    Example:
        >>> ClassifierTrainingArgs(epochs=3).encoder_lr
        8e-05
    """

    # finetune: the whole encoder but its word embeddings; lora: adapters only (larger encoders); head: frozen.
    mode: str = "finetune"
    # Upper bound on passes over the training set; early stopping usually ends sooner.
    epochs: int = 5
    # Epochs without a better dev macro-F1 before training stops (the best epoch's weights are kept).
    patience: int = 2
    batch_size: int = 32
    # Tokens per text in training and inference; longer texts are truncated (customer messages rarely reach 64).
    max_length: int = 64
    # AdamW learning rates: small for the pretrained encoder, larger for the warm-started heads.
    encoder_lr: float = 8e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    # Share of the optimisation steps spent warming the learning rate up linearly; it then decays linearly to 0.
    warmup_fraction: float = 0.06
    label_smoothing: float = 0.1
    # Dropout on the sentence vector before the heads (the encoder keeps its own).
    dropout: float = 0.1
    # Gradient norm clip.
    max_grad_norm: float = 1.0
    seed: int = 0
    # The word-embedding matrix is most of a multilingual encoder's weights: frozen, a step is ~6x cheaper.
    freeze_embeddings: bool = True
    # bfloat16 autocast on CPU (AVX-512 BF16 makes a step ~1.7x faster here); master weights stay float32.
    bf16: bool = True
    # Class weights in the loss: "auto" weighs by inverse square-root frequency when classes are imbalanced (>3x).
    class_weighting: str = "auto"
    # Inverse L2 strength of the warm-start logistic regression over sentence vectors.
    bootstrap_c: float = 10.0
    # The warm start embeds at most this many training texts (a stratified sample beyond it).
    bootstrap_max_examples: int = 20000
    # Fine-tune on at most this many training texts (0: all); the lexical head still sees all of them.
    max_train_examples: int = 0
    # Share of the training set kept as dev (stratified) when no dev split is given.
    dev_fraction: float = 0.1
    # A character n-gram logistic regression joined to the encoder's log-probabilities, weight chosen on dev.
    lexical: bool = True
    n_features: int = 2**16
    lexical_c: float = 10.0
    # Out-of-scope threshold: flag as many as possible while losing at most this much in-scope dev accuracy.
    oos_max_inscope_loss: float = 0.01
    # Members of a seed ensemble: each trains with its own seed and (without a given dev set) its own dev
    # split, so together they learn from every example; their calibrated probabilities are averaged.
    ensemble: int = 1
    # LoRA adapters (mode="lora"): rank, scaling and dropout, trained at `lora_lr`.
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_lr: float = 1e-3

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.class_weighting not in ("auto", "none", "balanced"):
            raise ValueError(f"class_weighting must be auto, none or balanced, got {self.class_weighting!r}")
        for name in ("epochs", "batch_size", "bootstrap_max_examples", "lora_r", "lora_alpha", "ensemble"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.patience < 0 or self.max_train_examples < 0:
            raise ValueError("patience and max_train_examples must be >= 0")
        if not 8 <= self.max_length <= 512:
            raise ValueError(f"max_length must be in [8, 512], got {self.max_length}")
        for name in ("encoder_lr", "head_lr", "lora_lr", "bootstrap_c", "lexical_c", "max_grad_norm"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("warmup_fraction", "label_smoothing", "dropout", "lora_dropout", "weight_decay",
                     "oos_max_inscope_loss"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0.0 < self.dev_fraction < 0.5:
            raise ValueError(f"dev_fraction must be in (0, 0.5), got {self.dev_fraction}")
        if self.n_features < 2**8 or self.n_features & (self.n_features - 1):
            raise ValueError(f"n_features must be a power of two >= 256, got {self.n_features}")

    @classmethod
    def tiny(cls, **overrides) -> "ClassifierTrainingArgs":
        """Seconds on any machine: for tests."""
        return cls(**{"epochs": 1, "batch_size": 16, "max_length": 32, "bootstrap_max_examples": 2000,
                      "n_features": 2**12, "patience": 1, **overrides})

    def to_dict(self) -> dict:
        return asdict(self)


ARCHITECTURES = ("warm-start", "t5-scratch")


@dataclass(frozen=True)
class DrafterTrainingArgs:
    """How the seq2seq drafter is trained (see `finetune.seq2seq`).

    The model: an encoder-decoder warm-started from the pretrained encoder on both sides (cross-attention
    new), its vocabulary cut to the pieces the shop's texts use, word embeddings frozen and tied to the
    output layer. AdamW with linear warmup and decay, bf16 autocast, early stopping on dev loss.

    Example:
        >>> DrafterTrainingArgs(epochs=3).batch_size
        16
    """

    # "t5-scratch": a small T5 (4+4 layers, d 256) with a Unigram tokenizer trained on the shop's texts;
    # "warm-start": the pretrained encoder on both sides. Chosen by measurement on the sample shop
    # (bench/README.md): neither beats the template yet; t5-scratch drafts closer to the answers
    # (raw chrF 10.9 vs 0.9), 4x faster (61 vs 253 ms), and trains in half the time.
    architecture: str = "t5-scratch"
    epochs: int = 40
    batch_size: int = 16
    # 0: the architecture's own (1e-3 for t5-scratch, 3e-4 for warm-start).
    learning_rate: float = 0.0
    # The weights the encoder checkpoint lacks (cross-attention, the output transform) learn this much faster.
    new_weights_lr_factor: float = 5.0
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    # Dev loss not improving this many epochs in a row stops training (the best epoch is kept).
    patience: int = 2
    # Tokens: the input (question, intent, sentiment, retrieved answers) and the reply.
    max_input_tokens: int = 256
    max_target_tokens: int = 128
    # Share of the training pairs (whole entries or conversations) held out as dev.
    dev_fraction: float = 0.1
    # Warm start: decoder layers taken from the encoder's first ones (6 of 12 trained and decoded faster,
    # and reached a lower dev loss, than 12 here).
    decoder_layers: int = 6
    # Cut the vocabulary to the shop's pieces (4-5x faster steps and decoding here, a 4x smaller folder).
    trim_vocabulary: bool = True
    bf16: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ValueError(f"epochs, batch_size and patience must be >= 1: {self}")
        if not 0 <= self.learning_rate < 1 or not 0 <= self.warmup_fraction < 1 or self.weight_decay < 0:
            raise ValueError(f"learning_rate in [0, 1), warmup_fraction in [0, 1), weight_decay >= 0: {self}")
        if self.max_input_tokens < 16 or self.max_target_tokens < 8:
            raise ValueError(f"max_input_tokens >= 16 and max_target_tokens >= 8: {self}")
        if not 0.0 < self.dev_fraction < 0.5:
            raise ValueError(f"dev_fraction must be in (0, 0.5), got {self.dev_fraction}")
        if self.decoder_layers < 1:
            raise ValueError(f"decoder_layers must be >= 1, got {self.decoder_layers}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.new_weights_lr_factor <= 0:
            raise ValueError(f"new_weights_lr_factor must be > 0, got {self.new_weights_lr_factor}")

    @property
    def lr(self) -> float:
        """The learning rate used: the one given, else the architecture's."""
        return self.learning_rate or (1e-3 if self.architecture == "t5-scratch" else 3e-4)

    @classmethod
    def tiny(cls, **overrides) -> "DrafterTrainingArgs":
        """Seconds on any machine: for tests."""
        return cls(**{"epochs": 1, "batch_size": 8, "max_input_tokens": 64, "max_target_tokens": 24,
                      "decoder_layers": 1, **overrides})

    def to_dict(self) -> dict:
        return asdict(self)
