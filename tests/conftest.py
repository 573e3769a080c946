"""Shared fixtures: every test gets its own ASSISTANT_HOME; fakes stand in where the model is not the point."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.pool import NullPool

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Serving pins PyTorch to one thread per call; the tests also train models, which want every core.
os.environ.setdefault("ASSISTANT_TORCH_THREADS", "0")

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"
_TOKEN = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]")


class HashEmbedder:
    """Deterministic stand-in for a sentence encoder: hashed words and Chinese characters, unit length."""

    name = "hash-embedder"

    def __init__(self, dim: int = 128):
        self.dim = dim

    def unknown_fraction(self, text: str) -> float:
        return 0.0

    def encode(self, texts, *, kind: str = "query", batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                h = int(hashlib.md5(token.encode()).hexdigest(), 16)
                out[row, h % self.dim] += 1.0 if (h >> 64) % 2 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


@pytest.fixture(autouse=True)
def assistant_home(tmp_path, monkeypatch) -> Path:
    """Point ASSISTANT_HOME (and nothing else of the user's) at a fresh folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("ASSISTANT_HOME", str(home))
    for name in ("ASSISTANT_DATABASE_URL", "ASSISTANT_KNOWLEDGE_DIR", "ASSISTANT_EMBEDDER_PATH"):
        monkeypatch.delenv(name, raising=False)
    from assistant.settings import get_settings

    get_settings.cache_clear()
    return home


# An admin URL of a PostgreSQL server (a role that may create databases), e.g. what .ci/postgres.sh prints.
# The store's tests then run against it as well as SQLite; CI sets ASSISTANT_TEST_REQUIRE_POSTGRES so a
# missing server fails there instead of skipping.
POSTGRES_URL = os.environ.get("ASSISTANT_TEST_POSTGRES_URL", "")


@contextmanager
def throwaway_postgres_database(admin_url: str):
    """A fresh, empty database on the server of `admin_url`, dropped afterwards; yields its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from assistant.settings import Settings

    admin_url = Settings(database_url=admin_url).db_url  # the psycopg 3 driver
    name = f"assistant_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The URL of an empty database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database (skipped without a server, failed in CI)."""
    if not POSTGRES_URL:
        if os.environ.get("ASSISTANT_TEST_REQUIRE_POSTGRES"):
            pytest.fail("ASSISTANT_TEST_REQUIRE_POSTGRES is set but ASSISTANT_TEST_POSTGRES_URL is not")
        pytest.skip("no PostgreSQL: run `.ci/postgres.sh` and set ASSISTANT_TEST_POSTGRES_URL to what it prints")
    with throwaway_postgres_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def engine(database_url):
    """A migrated store on SQLite and on PostgreSQL."""
    from assistant import store

    engine = store.make_engine(database_url)
    store.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def knowledge_copy(tmp_path) -> Path:
    """A writable copy of the sample shop's knowledge folder."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


@pytest.fixture(scope="session")
def fake_home_template(tmp_path_factory) -> Path:
    """An ASSISTANT_HOME bootstrapped once per session with the fake embedder and a tiny router."""
    from assistant.settings import Settings
    from finetune.args import RouterTrainingArgs
    from ui.bootstrap import ensure_ready

    home = tmp_path_factory.mktemp("fake-home")
    ensure_ready(Settings(home=home, knowledge_dir=KNOWLEDGE), embedder=HashEmbedder(),
                 args=RouterTrainingArgs.tiny(), log=lambda _: None, progress=False)
    return home


@pytest.fixture
def fake_assistant(fake_home_template, assistant_home):
    """An Assistant on a private copy of the fake-bootstrapped home."""
    from assistant.pipeline import Assistant
    from assistant.settings import Settings

    shutil.copytree(fake_home_template, assistant_home)
    return Assistant(Settings(home=assistant_home, knowledge_dir=KNOWLEDGE), embedder=HashEmbedder())


@pytest.fixture
def store_assistant(fake_home_template, assistant_home, database_url):
    """A fake Assistant storing in SQLite and then in PostgreSQL."""
    from assistant.pipeline import Assistant
    from assistant.settings import Settings

    shutil.copytree(fake_home_template, assistant_home)
    assistant = Assistant(Settings(home=assistant_home, knowledge_dir=KNOWLEDGE, database_url=database_url),
                          embedder=HashEmbedder())
    yield assistant
    if assistant._runtime is not None:  # a test that failed before using it loads nothing here
        assistant.engine.dispose()


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A real sentence-transformers folder, tiny and untrained (MiniLM's tokenizer, one small layer): lets a
    child `assistant serve` or CLI process bootstrap and answer in seconds (ASSISTANT_EMBEDDER_PATH)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules
    from transformers import AutoTokenizer, BertConfig, BertModel

    from assistant.models import minilm_path

    torch.manual_seed(0)
    bert = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(bert)
    tokenizer.save_pretrained(bert)
    transformer = modules.Transformer(str(bert), max_seq_length=64)
    folder = tmp_path_factory.mktemp("tiny-encoder")
    SentenceTransformer(modules=[transformer, modules.Pooling(32, "mean"), modules.Normalize()],
                        device="cpu").save(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_seq2seq(tmp_path_factory) -> Path:
    """A real Hugging Face encoder-decoder folder, tiny and untrained (MiniLM's tokenizer, 2 small layers
    a side): what the generator, the service and the guard do with any seq2seq folder, in seconds."""
    import torch
    from transformers import AutoTokenizer, BertConfig, EncoderDecoderConfig, EncoderDecoderModel

    from assistant.models import minilm_path

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-seq2seq")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    size = dict(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=64, max_position_embeddings=128)
    config = EncoderDecoderConfig.from_encoder_decoder_configs(
        BertConfig(**size), BertConfig(**size, is_decoder=True, add_cross_attention=True))
    model = EncoderDecoderModel(config=config)
    model.config.decoder_start_token_id = tokenizer.cls_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.sep_token_id
    model.generation_config.decoder_start_token_id = tokenizer.cls_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.sep_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
